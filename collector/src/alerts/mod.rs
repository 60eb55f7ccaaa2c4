//! Scheduled budget alerts. Every `alert_interval_secs` the collector runs the
//! budget check for each site with data; each (site, budget path, metric) goes
//! through the pure state machine in `machine`; announced transitions are
//! logged, posted to the webhooks (`deliver`) and stored (`GET
//! /v1/sites/{site}/alerts`). The machine state lives in the database
//! (`alert_state`) and each evaluation holds a leader lock (PostgreSQL advisory
//! lock), so a restart neither repeats nor forgets an announced alert and
//! several collectors on one database alert once.
//!
//! A page-weight budget's breach is announced as `bundleSizeViolation`,
//! always of severity error (bytes do not get "critical" the way a slow page
//! does), with its own cooldown (`STRRAY_ALERT_BUNDLE_COOLDOWN_SECS`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::budget::Severity;
use crate::budget_file::BudgetFile;
use crate::check::{self, Baseline, CheckOptions};
use crate::configuration::Settings;
use crate::storage::{AlertRecord, Store};

pub mod deliver;
pub mod machine;

pub use deliver::{Delivery, WebhookConfig};
pub use machine::{AlertKind, KeyState, Policy, Transition};

#[derive(Clone, Debug)]
pub struct AlertConfig {
    pub policy: Policy,
    /// For page-weight budgets: `policy` with the bundle cooldown.
    pub bundle_policy: Policy,
    pub webhooks: WebhookConfig,
    pub budget: BudgetFile,
    pub window_hours: u32,
    pub min_samples: u64,
}

impl AlertConfig {
    /// Reads the alert settings; a bad budget file or webhook URL is a startup error.
    pub fn from_settings(s: &Settings) -> anyhow::Result<AlertConfig> {
        let budget = match &s.alert_budget {
            None => BudgetFile::default_budget(),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| anyhow::anyhow!("STRRAY_ALERT_BUDGET {}: {e}", p.display()))?;
                BudgetFile::parse_str(&text)
                    .map_err(|e| anyhow::anyhow!("STRRAY_ALERT_BUDGET {}: {e}", p.display()))?
            }
        };
        let mut urls = Vec::new();
        for u in s
            .alert_webhooks
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            let parsed = url::Url::parse(u)
                .map_err(|e| anyhow::anyhow!("STRRAY_ALERT_WEBHOOKS: {u:?}: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                anyhow::bail!("STRRAY_ALERT_WEBHOOKS: {u:?}: only http:// and https:// receivers");
            }
            urls.push(u.to_string());
        }
        let policy = Policy {
            consecutive: s.alert_consecutive.max(1),
            cooldown: seconds(s.alert_cooldown_secs),
            frequent_count: s.alert_frequent_count,
            frequent_window: chrono::Duration::hours(i64::from(s.alert_frequent_window_hours)),
        };
        Ok(AlertConfig {
            bundle_policy: Policy {
                cooldown: seconds(s.alert_bundle_cooldown_secs),
                ..policy.clone()
            },
            policy,
            webhooks: WebhookConfig {
                urls,
                extra_roots: match &s.alert_ca_file {
                    None => Vec::new(),
                    Some(p) => {
                        let pem = std::fs::read(p).map_err(|e| {
                            anyhow::anyhow!("STRRAY_ALERT_CA_FILE {}: {e}", p.display())
                        })?;
                        reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                            anyhow::anyhow!("STRRAY_ALERT_CA_FILE {}: {e}", p.display())
                        })?
                    }
                },
                timeout: Duration::from_millis(s.alert_webhook_timeout_ms),
                retries: s.alert_webhook_retries,
                backoff: Duration::from_millis(200),
            },
            budget,
            window_hours: s.alert_window_hours.clamp(1, 24 * 400),
            min_samples: s.min_samples.max(1),
        })
    }
}

fn seconds(s: u64) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000))
}

/// (path, metric) of one site's alert state; the map is per site.
type Key = (String, String);

pub struct AlertEngine {
    store: Store,
    cfg: AlertConfig,
    /// Built at the first delivery: a TLS client loads the system's root
    /// certificates (~5 MB resident), which a collector without webhooks, or
    /// without a firing alert yet, never needs.
    client: std::sync::OnceLock<reqwest::Client>,
}

impl AlertEngine {
    pub fn new(store: Store, cfg: AlertConfig) -> AlertEngine {
        AlertEngine {
            store,
            cfg,
            client: std::sync::OnceLock::new(),
        }
    }

    fn client(&self) -> &reqwest::Client {
        self.client.get_or_init(|| {
            let mut builder = reqwest::Client::builder();
            for root in &self.cfg.webhooks.extra_roots {
                builder = builder.add_root_certificate(root.clone());
            }
            // Building only fails if the TLS backend cannot initialise; then
            // deliveries report their errors per receiver instead.
            builder.build().unwrap_or_else(|e| {
                tracing::error!(error = %e, "webhook client with extra roots failed; using defaults");
                reqwest::Client::new()
            })
        })
    }

    /// One evaluation of every site at `now`: the scheduler calls this on its
    /// interval; tests call it directly with a chosen clock.
    pub async fn evaluate_once(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<AlertRecord>> {
        let opts = CheckOptions {
            budget: self.cfg.budget.clone(),
            window_hours: self.cfg.window_hours,
            min_samples: self.cfg.min_samples,
            release: None,
            baseline: None::<Baseline>,
            tolerance: check::DEFAULT_TOLERANCE,
        };
        let Some(leader) = self.store.alert_leader().await? else {
            tracing::debug!("another collector is evaluating alerts; skipping this round");
            return Ok(Vec::new());
        };
        let result = self.evaluate_sites(&opts, now).await;
        leader.release().await?;
        result
    }

    async fn evaluate_sites(
        &self,
        opts: &CheckOptions,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<AlertRecord>> {
        let mut announced = Vec::new();
        for site in self.store.sites().await? {
            let report = check::run(&self.store, &site, opts, now).await?;
            let mut states: HashMap<Key, KeyState> = HashMap::new();
            for (path, metric, json) in self.store.alert_states(&site).await? {
                // A state this version cannot read starts afresh (logged), rather
                // than stopping alerts for the whole site.
                let st = serde_json::from_str(&json).unwrap_or_else(|e| {
                    tracing::warn!(%site, %path, %metric, error = %e, "unreadable alert state; starting afresh");
                    KeyState::default()
                });
                states.insert((path, metric), st);
            }
            let mut transitions = Vec::new();
            let mut changed = Vec::new();
            for e in &report.entries {
                let timings = e.timings.iter().map(|t| (t, false));
                for (t, bundle) in timings.chain(e.resources.iter().map(|t| (t, true))) {
                    let key = (e.path.clone(), t.label().to_string());
                    let st = states.entry(key).or_default();
                    let before = st.clone();
                    let (policy, severity) = if bundle {
                        // Capped at error: never an escalation, never an
                        // immediate critical fire; the streak rule holds.
                        (&self.cfg.bundle_policy, t.severity.min(Severity::Error))
                    } else {
                        (&self.cfg.policy, t.severity)
                    };
                    if let Some(mut tr) = st.step(policy, severity, now) {
                        if bundle && tr.kind == AlertKind::Fired {
                            tr.kind = AlertKind::BundleSizeViolation;
                        }
                        transitions.push((e.path.clone(), t.clone(), tr));
                    }
                    if *st != before {
                        changed.push((
                            e.path.clone(),
                            t.label().to_string(),
                            serde_json::to_string(st)?,
                        ));
                    }
                }
            }
            for (path, t, tr) in transitions {
                let message = match tr.kind {
                    AlertKind::Recovered => format!(
                        "{} on {site} {path} recovered: p{} {} within budget {}",
                        t.label(),
                        t.percentile,
                        t.value.map(|v| v.to_string()).unwrap_or_default(),
                        t.budget
                    ),
                    kind => format!(
                        "{} on {site} {path} {}: p{} {} is {:.0}% of budget {} ({}, {} samples)",
                        t.label(),
                        kind.as_str(),
                        t.percentile,
                        t.value.map(|v| v.to_string()).unwrap_or_default(),
                        t.ratio.unwrap_or(0.0) * 100.0,
                        t.budget,
                        tr.severity.as_str(),
                        t.samples
                    ),
                };
                tracing::warn!(target: "strray::alert", %site, %path, metric = %t.label(), kind = tr.kind.as_str(), severity = tr.severity.as_str(), "{message}");
                let body = serde_json::json!({
                    "site": site, "path": path, "metric": t.label(), "unit": t.unit,
                    "kind": tr.kind, "severity": tr.severity,
                    "previous_severity": tr.previous,
                    "value": t.value, "budget": t.budget, "ratio": t.ratio,
                    "percentile": t.percentile, "samples": t.samples,
                    "interval": t.interval, "message": message, "at": now,
                });
                let deliveries = deliver::deliver(self.client(), &self.cfg.webhooks, &body).await;
                let rec = AlertRecord {
                    site: site.clone(),
                    path,
                    metric: t.label().to_string(),
                    kind: tr.kind.as_str().into(),
                    severity: tr.severity.as_str().into(),
                    previous_severity: tr.previous.map(|s| s.as_str().to_string()),
                    value: t.value,
                    budget: t.budget,
                    samples: i64::try_from(t.samples).unwrap_or(i64::MAX),
                    message,
                    deliveries: serde_json::to_string(&deliveries)?,
                    created_at: now,
                };
                self.store.insert_alert(&rec).await?;
                announced.push(rec);
            }
            self.store.save_alert_states(&site, &changed, now).await?;
        }
        Ok(announced)
    }
}

/// Runs `evaluate_once` every `interval` until the process ends.
pub fn spawn_scheduler(
    engine: Arc<AlertEngine>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate; wait one interval instead
        loop {
            tick.tick().await;
            if let Err(e) = engine.evaluate_once(Utc::now()).await {
                tracing::error!(error = ?e, "alert evaluation failed");
            }
        }
    })
}
