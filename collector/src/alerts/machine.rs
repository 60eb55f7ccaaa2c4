//! The alert state machine per (site, path, metric). Pure: the engine feeds it
//! one observed severity per evaluation and a clock.
//!
//! Rules (product.md "alerting patterns users trust"):
//! - Only a breach (error or worse) counts; a warning is not alert-worthy.
//! - Fire after `consecutive` breaching evaluations in a row; an evaluation
//!   with insufficient data resets the streak and never fires or recovers.
//! - Escalation: a critical breach fires at once (no streak needed), and so
//!   does any breach of a key that already fired `frequent_count` times within
//!   `frequent_window` (flapping is itself the news). Error → critical while
//!   announced is announced once as an escalation, cooldown or not.
//! - Recovery (pass or warning) of an announced breach is announced once.
//! - Cooldown: after a fire, no new fire for the same key until it has passed.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::budget::Severity;

#[derive(Clone, Debug)]
pub struct Policy {
    pub consecutive: u32,
    pub cooldown: Duration,
    pub frequent_count: u32,
    pub frequent_window: Duration,
}

/// Persisted as JSON in `alert_state` between evaluations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyState {
    /// The breach severity last announced; None = healthy.
    announced: Option<Severity>,
    streak: u32,
    last_fired: Option<DateTime<Utc>>,
    fires: VecDeque<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertKind {
    Fired,
    Escalated,
    Recovered,
    /// A page-weight budget breached (what `Fired` is for timings).
    #[serde(rename = "bundleSizeViolation")]
    BundleSizeViolation,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Fired => "fired",
            AlertKind::Escalated => "escalated",
            AlertKind::Recovered => "recovered",
            AlertKind::BundleSizeViolation => "bundleSizeViolation",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub kind: AlertKind,
    pub severity: Severity,
    pub previous: Option<Severity>,
}

impl KeyState {
    pub fn step(
        &mut self,
        p: &Policy,
        severity: Severity,
        now: DateTime<Utc>,
    ) -> Option<Transition> {
        match severity {
            Severity::InsufficientData => {
                self.streak = 0;
                None
            }
            s if s.is_breach() => {
                self.streak = self.streak.saturating_add(1);
                if let Some(prev) = self.announced {
                    if s == Severity::Critical && prev < Severity::Critical {
                        self.announced = Some(s);
                        return Some(Transition {
                            kind: AlertKind::Escalated,
                            severity: s,
                            previous: Some(prev),
                        });
                    }
                    return None; // still breaching: state change only
                }
                while self
                    .fires
                    .front()
                    .is_some_and(|t| now - *t > p.frequent_window)
                {
                    self.fires.pop_front();
                }
                let frequent =
                    p.frequent_count > 0 && self.fires.len() >= p.frequent_count as usize;
                let immediate = s == Severity::Critical || frequent;
                if self.streak < p.consecutive.max(1) && !immediate {
                    return None;
                }
                if self.last_fired.is_some_and(|t| now - t < p.cooldown) {
                    return None;
                }
                self.announced = Some(s);
                self.last_fired = Some(now);
                self.fires.push_back(now);
                Some(Transition {
                    kind: AlertKind::Fired,
                    severity: s,
                    previous: None,
                })
            }
            s => {
                self.streak = 0;
                let prev = self.announced.take()?;
                Some(Transition {
                    kind: AlertKind::Recovered,
                    severity: s,
                    previous: Some(prev),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use Severity::*;

    fn policy() -> Policy {
        Policy {
            consecutive: 3,
            cooldown: Duration::hours(1),
            frequent_count: 3,
            frequent_window: Duration::hours(24),
        }
    }

    /// Feeds severities 5 minutes apart; returns the transitions' kinds.
    fn run(st: &mut KeyState, start: DateTime<Utc>, seq: &[Severity]) -> Vec<Option<AlertKind>> {
        seq.iter()
            .enumerate()
            .map(|(i, &s)| {
                st.step(&policy(), s, start + Duration::minutes(5 * i as i64))
                    .map(|t| t.kind)
            })
            .collect()
    }

    #[test]
    fn fires_once_after_n_breaches_and_recovers_once() {
        let mut st = KeyState::default();
        let t0 = Utc::now();
        let got = run(
            &mut st,
            t0,
            &[Error, Error, Error, Error, Error, Pass, Pass, Warning],
        );
        use AlertKind::*;
        assert_eq!(
            got,
            [
                None,
                None,
                Some(Fired),
                None,
                None,
                Some(Recovered),
                None,
                None
            ]
        );
    }

    #[test]
    fn insufficient_data_and_warnings_break_the_streak() {
        let mut st = KeyState::default();
        let got = run(
            &mut st,
            Utc::now(),
            &[
                Error,
                Error,
                InsufficientData,
                Error,
                Error,
                Warning,
                Error,
                Error,
                Error,
            ],
        );
        assert_eq!(got.iter().filter(|x| x.is_some()).count(), 1);
        assert_eq!(got[8], Some(AlertKind::Fired));
    }

    #[test]
    fn cooldown_suppresses_a_repeat_after_recovery() {
        let mut st = KeyState::default();
        let t0 = Utc::now();
        // Fire at 10 min, recover at 15, breach again for 3 evaluations (within the hour).
        let got = run(
            &mut st,
            t0,
            &[Error, Error, Error, Pass, Error, Error, Error, Error],
        );
        assert_eq!(
            got.iter().flatten().count(),
            2,
            "{got:?}: fired + recovered only"
        );
        // After the cooldown the ongoing breach fires again.
        let t = st
            .step(&policy(), Error, t0 + Duration::minutes(75))
            .unwrap();
        assert_eq!(t.kind, AlertKind::Fired);
    }

    #[test]
    fn critical_fires_at_once_and_escalates_an_error() {
        let mut st = KeyState::default();
        let t0 = Utc::now();
        assert_eq!(
            st.step(&policy(), Critical, t0).unwrap().kind,
            AlertKind::Fired
        );
        let mut st = KeyState::default();
        let got = run(
            &mut st,
            t0,
            &[Error, Error, Error, Critical, Critical, Error],
        );
        assert_eq!(
            got,
            [
                None,
                None,
                Some(AlertKind::Fired),
                Some(AlertKind::Escalated),
                None,
                None
            ]
        );
    }

    #[test]
    fn frequent_breaches_fire_without_waiting() {
        let mut st = KeyState::default();
        let p = policy();
        let mut t = Utc::now();
        // Three full fire/recover cycles, each after the cooldown.
        for _ in 0..3 {
            for _ in 0..3 {
                st.step(&p, Error, t);
                t += Duration::minutes(5);
            }
            assert!(st.step(&p, Pass, t).is_some());
            t += Duration::minutes(70);
        }
        // The fourth breach fires on its first evaluation.
        assert_eq!(st.step(&p, Error, t).unwrap().kind, AlertKind::Fired);
    }
}
