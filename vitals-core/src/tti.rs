//! Field Time to Interactive, as the (archived) tti-polyfill computes it
//! (metrics-spec §10.2), plus Total Blocking Time between FCP and TTI.
//!
//! This is a field *heuristic*: Resource Timing only reports requests once they
//! finish, so requests still in flight are only known when the caller tracks
//! them itself (the agent wraps `fetch` and `XMLHttpRequest.prototype.send`
//! and passes their in-flight intervals), and Long Tasks exist only in Chromium. See metrics-spec §10.3 for the limits.

use alloc::vec::Vec;

/// Length of the quiet window TTI needs (ms).
pub const QUIET_WINDOW_MS: f64 = 5000.0;
/// A long task blocks the main thread for its duration beyond this (ms).
pub const BLOCKING_THRESHOLD_MS: f64 = 50.0;
/// More than this many requests in flight means "network busy".
const MAX_QUIET_REQUESTS: i32 = 2;

/// Sorts `(time, delta)` boundaries by time, stably (insertion sort: small
/// inputs, and no `slice::sort` instantiation in the wasm agent).
fn sort_by_time(v: &mut [(f64, i32)]) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && v[j - 1].0 > v[j].0 {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// The last time the network went from "more than 2 requests in flight" to
/// "at most 2": `now` when more than 2 are in flight right now, 0 when it
/// never was busy. `in_flight_starts` are start times of requests not yet
/// finished; `completed` are `(start, end)` of finished ones.
pub fn last_known_network_busy(
    in_flight_starts: &[f64],
    completed: &[(f64, f64)],
    now: f64,
) -> f64 {
    let open = i32::try_from(in_flight_starts.len()).unwrap_or(i32::MAX);
    if open > MAX_QUIET_REQUESTS {
        return now;
    }
    // +1 marks a request end, -1 a request start (in the backwards sweep,
    // crossing an end adds a request, crossing a start removes one).
    let mut points: Vec<(f64, i32)> =
        Vec::with_capacity(completed.len() * 2 + in_flight_starts.len());
    for &(s, e) in completed {
        points.push((s, -1));
        points.push((e, 1));
    }
    points.extend(in_flight_starts.iter().map(|&s| (s, -1)));
    sort_by_time(&mut points);
    let mut active = open;
    for &(t, d) in points.iter().rev() {
        active += d;
        if d > 0 && active > MAX_QUIET_REQUESTS {
            return t;
        }
    }
    0.0
}

/// The TTI decision at time `now`: `None` while the network was busy less than
/// 5 s ago or the last long task (or `search_start` if none) ended less than
/// 5 s ago; otherwise `max(end of last long task or search_start, min_value)`.
/// `long_tasks` are `(start, end)`.
pub fn decide(
    search_start: f64,
    min_value: f64,
    last_busy: f64,
    now: f64,
    long_tasks: &[(f64, f64)],
) -> Option<f64> {
    if now - last_busy < QUIET_WINDOW_MS {
        return None;
    }
    let candidate = long_tasks
        .iter()
        .map(|t| t.1)
        .reduce(f64::max)
        .unwrap_or(search_start);
    if now - candidate < QUIET_WINDOW_MS {
        return None;
    }
    Some(candidate.max(min_value))
}

/// Total Blocking Time: for each long task, the part beyond its first 50 ms
/// that lies inside `[from, to]` (Lighthouse's clipping: only the blocking
/// portion `[start + 50, end]` is clipped to the window).
pub fn total_blocking_time(long_tasks: &[(f64, f64)], from: f64, to: f64) -> f64 {
    long_tasks
        .iter()
        .map(|&(s, e)| {
            let b_start = (s + BLOCKING_THRESHOLD_MS).max(from);
            let b_end = e.min(to);
            (b_end - b_start).max(0.0)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every vector from tti-polyfill's core tests (metrics-spec §10.2).

    #[test]
    fn busy_no_requests_is_zero() {
        assert_eq!(last_known_network_busy(&[], &[], 1000.0), 0.0);
    }

    #[test]
    fn busy_three_in_flight_is_now() {
        assert_eq!(
            last_known_network_busy(&[1.0, 2.0, 3.0], &[], 1000.0),
            1000.0
        );
    }

    #[test]
    fn busy_two_in_flight_is_zero() {
        assert_eq!(last_known_network_busy(&[1.0, 2.0], &[], 1000.0), 0.0);
    }

    #[test]
    fn busy_two_in_flight_and_one_done() {
        assert_eq!(
            last_known_network_busy(&[10.0, 20.0], &[(0.0, 50.0)], 100.0),
            50.0
        );
    }

    #[test]
    fn busy_three_done_overlapping() {
        let done = [(0.0, 100.0), (0.0, 50.0), (25.0, 75.0)];
        assert_eq!(last_known_network_busy(&[], &done, 200.0), 50.0);
    }

    #[test]
    fn busy_one_in_flight_and_four_done() {
        let done = [(0.0, 5.0), (0.0, 10.0), (11.0, 20.0), (21.0, 30.0)];
        assert_eq!(last_known_network_busy(&[3.0], &done, 100.0), 5.0);
    }

    #[test]
    fn busy_two_in_flight_and_two_done() {
        let done = [(20.0, 50.0), (30.0, 60.0)];
        assert_eq!(last_known_network_busy(&[10.0, 90.0], &done, 100.0), 50.0);
    }

    #[test]
    fn decide_vectors() {
        let lt1 = [(2000.0, 2200.0), (2500.0, 2570.0)];
        let lt2 = [(2000.0, 2200.0), (10000.0, 10070.0)];
        type Case<'a> = (&'a str, f64, f64, f64, f64, &'a [(f64, f64)], Option<f64>);
        let cases: [Case<'_>; 9] = [
            (
                "network quiet too recently",
                500.0,
                3000.0,
                1000.0,
                5999.0,
                &[],
                None,
            ),
            (
                "long task too recent",
                500.0,
                500.0,
                1000.0,
                6001.0,
                &[(4000.0, 4060.0)],
                None,
            ),
            (
                "search start too recent",
                3000.0,
                500.0,
                1000.0,
                6001.0,
                &[],
                None,
            ),
            (
                "search start, no long tasks",
                4000.0,
                3000.0,
                1000.0,
                10000.0,
                &[],
                Some(4000.0),
            ),
            (
                "search start above min",
                750.0,
                500.0,
                1000.0,
                6001.0,
                &[],
                Some(750.0),
            ),
            (
                "min value above search start",
                300.0,
                500.0,
                1000.0,
                6001.0,
                &[],
                Some(500.0),
            ),
            (
                "min value above last long task",
                500.0,
                4000.0,
                1000.0,
                10000.0,
                &lt1,
                Some(4000.0),
            ),
            (
                "last long task end",
                1500.0,
                2000.0,
                1000.0,
                10000.0,
                &lt1,
                Some(2570.0),
            ),
            (
                "late long task end",
                500.0,
                2000.0,
                1000.0,
                17000.0,
                &lt2,
                Some(10070.0),
            ),
        ];
        for (desc, search, min, busy, now, tasks, want) in cases {
            assert_eq!(decide(search, min, busy, now, tasks), want, "{desc}");
        }
    }

    #[test]
    fn tbt_counts_only_time_beyond_50ms_inside_the_window() {
        // 120 ms task fully inside: 70; 40 ms task: 0; task straddling the
        // start: blocking part [1050, 1100] clipped to [1060, 1100] = 40.
        let tasks = [(2000.0, 2120.0), (3000.0, 3040.0), (1000.0, 1100.0)];
        assert_eq!(total_blocking_time(&tasks, 1060.0, 5000.0), 110.0);
        // A task after TTI does not count.
        assert_eq!(
            total_blocking_time(&[(6000.0, 6500.0)], 1000.0, 5000.0),
            0.0
        );
        assert_eq!(total_blocking_time(&[], 0.0, 10.0), 0.0);
    }
}
