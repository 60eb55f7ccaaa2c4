//! Interaction to Next Paint: the interaction manager (metrics-spec §7).
//!
//! Keeps the 10 longest interactions (grouped by `interactionId`), merges entries
//! of one interaction as web-vitals does, and picks the ~p98 candidate: the
//! `min(len − 1, ⌊count / 50⌋)`-th longest (0-based), where `count` is the number
//! of interactions on the page. Sorting is done by insertion (the list never
//! holds more than 11 items), which keeps `slice::sort` out of the wasm agent.
//!
//! For attribution, every entry (also those without an interaction id) is
//! put in a *frame*: entries whose render time (`start + duration`) is within
//! 8 ms share one, which tracks the earliest `processingStart` and latest
//! `processingEnd` (web-vitals' frame groups, so a `click` handler's processing
//! counts for the `pointerdown` that started the interaction).

use alloc::vec;
use alloc::vec::Vec;

/// How many interactions are kept.
pub const MAX_INTERACTIONS: usize = 10;
/// How many recent frames are kept for attribution.
pub const MAX_FRAMES: usize = 50;
/// Entries whose render times differ by at most this share a frame (ms).
const FRAME_TOLERANCE_MS: f64 = 8.0;

/// Entries presented in the same frame.
#[derive(Clone, Debug, PartialEq)]
struct Frame {
    render: f64,
    processing_start: f64,
    processing_end: f64,
}

/// The timing fields of one `event` / `first-input` entry that INP needs.
#[derive(Clone, Debug, PartialEq)]
pub struct EventEntry {
    pub interaction_id: u64,
    pub start: f64,
    pub duration: f64,
    pub processing_start: f64,
    pub processing_end: f64,
    /// The caller's handle for the entry `name` (`pointerdown`, `click`, ...).
    pub name: u32,
    /// The caller's handle for the target's selector; 0: none.
    pub target: u32,
}

/// One interaction: its latency and the entries that share the longest duration.
#[derive(Clone, Debug, PartialEq)]
pub struct Interaction {
    pub id: u64,
    pub latency: f64,
    pub entries: Vec<EventEntry>,
}

/// INP attribution split: the three parts add up to the interaction's latency
/// (up to the 8 ms rounding of `duration`).
#[derive(Clone, Debug, PartialEq)]
pub struct InpBreakdown {
    /// Handle of the first entry's target that has one (0: none).
    pub target: u32,
    /// Handle of the first entry's `name`.
    pub event_type: u32,
    pub input_delay: f64,
    pub processing: f64,
    pub presentation: f64,
}

impl Interaction {
    /// Input delay / processing / presentation from this interaction's entries
    /// only (see [`InteractionManager::breakdown`] for the frame-aware split).
    pub fn breakdown(&self) -> InpBreakdown {
        self.breakdown_with(f64::INFINITY, f64::NEG_INFINITY)
    }

    /// Split, widening the processing span with a frame's (clamped like
    /// web-vitals 6.2: never negative; processing end capped at the next paint).
    fn breakdown_with(&self, frame_start: f64, frame_end: f64) -> InpBreakdown {
        let Some(first) = self.entries.first() else {
            return InpBreakdown {
                target: 0,
                event_type: 0,
                input_delay: 0.0,
                processing: 0.0,
                presentation: self.latency,
            };
        };
        let mut p_start = frame_start;
        let mut p_end = frame_end;
        for e in &self.entries {
            p_start = p_start.min(e.processing_start);
            p_end = p_end.max(e.processing_end);
        }
        let start = first.start;
        let next_paint = (start + first.duration).max(p_start);
        let p_start = p_start.max(start);
        let p_end = p_end.min(next_paint).max(p_start);
        let target = self
            .entries
            .iter()
            .map(|e| e.target)
            .find(|&t| t != 0)
            .unwrap_or(0);
        InpBreakdown {
            target,
            event_type: first.name,
            input_delay: p_start - start,
            processing: p_end - p_start,
            presentation: next_paint - p_end,
        }
    }
}

/// The 10 longest interactions of a page view, longest first.
#[derive(Clone, Debug, Default)]
pub struct InteractionManager {
    longest: Vec<Interaction>,
    frames: Vec<Frame>,
}

impl InteractionManager {
    pub fn new() -> InteractionManager {
        InteractionManager::default()
    }

    /// Forgets everything (bfcache restore).
    pub fn clear(&mut self) {
        self.longest.clear();
        self.frames.clear();
    }

    /// The attribution split of `i`, using the processing span of the frame
    /// it was presented in when that frame is still known.
    pub fn breakdown(&self, i: &Interaction) -> InpBreakdown {
        let frame = i.entries.first().and_then(|f| {
            let render = f.start + f.duration;
            self.frames
                .iter()
                .find(|fr| (fr.render - render).abs() <= FRAME_TOLERANCE_MS)
        });
        match frame {
            Some(fr) => i.breakdown_with(fr.processing_start, fr.processing_end),
            None => i.breakdown(),
        }
    }

    fn record_frame(&mut self, e: &EventEntry) {
        let render = e.start + e.duration;
        if !render.is_finite() {
            return;
        }
        match self
            .frames
            .iter_mut()
            .find(|f| (f.render - render).abs() <= FRAME_TOLERANCE_MS)
        {
            Some(f) => {
                f.processing_start = f.processing_start.min(e.processing_start);
                f.processing_end = f.processing_end.max(e.processing_end);
            }
            None => {
                if self.frames.len() == MAX_FRAMES {
                    self.frames.remove(0);
                }
                self.frames.push(Frame {
                    render,
                    processing_start: e.processing_start,
                    processing_end: e.processing_end,
                });
            }
        }
    }

    /// The tracked interactions, longest first.
    pub fn interactions(&self) -> &[Interaction] {
        &self.longest
    }

    /// Whether an entry would be considered: its interaction is tracked, fewer
    /// than 10 are tracked, or it is longer than the 10th longest. Lets the
    /// caller skip computing a selector for entries that will be dropped.
    pub fn would_consider(&self, interaction_id: u64, duration: f64) -> bool {
        interaction_id != 0
            && (self.longest.len() < MAX_INTERACTIONS
                || self.longest.iter().any(|i| i.id == interaction_id)
                || self.longest.last().is_some_and(|l| duration > l.latency))
    }

    /// Adds one entry. Every entry joins a frame (for attribution); entries
    /// with `interaction_id == 0` (not part of an interaction) or a non-finite
    /// duration are then ignored.
    pub fn add(&mut self, entry: EventEntry) {
        self.record_frame(&entry);
        if !entry.duration.is_finite() || !self.would_consider(entry.interaction_id, entry.duration)
        {
            return;
        }
        let pos = match self
            .longest
            .iter()
            .position(|i| i.id == entry.interaction_id)
        {
            Some(pos) => {
                let Some(it) = self.longest.get_mut(pos) else {
                    return;
                };
                if entry.duration > it.latency {
                    it.latency = entry.duration;
                    it.entries.clear();
                    it.entries.push(entry);
                } else if entry.duration == it.latency
                    && it.entries.first().is_some_and(|f| f.start == entry.start)
                {
                    it.entries.push(entry);
                    return;
                } else {
                    return;
                }
                pos
            }
            None => {
                self.longest.push(Interaction {
                    id: entry.interaction_id,
                    latency: entry.duration,
                    entries: vec![entry],
                });
                self.longest.len() - 1
            }
        };
        // The changed item only ever gets longer: bubble it towards the front.
        // `get_mut` rather than indexing: no bounds-check panic (and its
        // formatting code) in the wasm agent.
        let mut i = pos;
        while i > 0 {
            match self.longest.get_mut(i - 1..=i) {
                Some([a, b]) if a.latency < b.latency => {
                    core::mem::swap(a, b);
                    i -= 1;
                }
                _ => break,
            }
        }
        self.longest.truncate(MAX_INTERACTIONS);
    }

    /// The ~p98 interaction for a page with `count` interactions, if any.
    pub fn candidate(&self, count: u64) -> Option<&Interaction> {
        let len = self.longest.len();
        if len == 0 {
            return None;
        }
        let idx = usize::try_from(count / 50)
            .unwrap_or(usize::MAX)
            .min(len - 1);
        self.longest.get(idx)
    }
}

/// Counts distinct interaction ids, for browsers without
/// `performance.interactionCount` (bounded memory: stops growing at `cap`).
#[derive(Clone, Debug, Default)]
pub struct InteractionCounter {
    seen: Vec<u64>,
}

impl InteractionCounter {
    const CAP: usize = 4096;

    pub fn observe(&mut self, interaction_id: u64) {
        if interaction_id != 0
            && self.seen.len() < Self::CAP
            && !self.seen.contains(&interaction_id)
        {
            self.seen.push(interaction_id);
        }
    }

    pub fn count(&self) -> u64 {
        self.seen.len() as u64
    }

    pub fn clear(&mut self) {
        self.seen.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e(id: u64, start: f64, duration: f64) -> EventEntry {
        EventEntry {
            interaction_id: id,
            start,
            duration,
            processing_start: start + 5.0,
            processing_end: start + 15.0,
            name: 1,
            target: 0,
        }
    }

    #[test]
    fn no_interactions_no_candidate() {
        assert!(InteractionManager::new().candidate(0).is_none());
        assert!(InteractionManager::new().candidate(10).is_none());
    }

    #[test]
    fn entries_without_interaction_id_are_ignored() {
        let mut m = InteractionManager::new();
        m.add(e(0, 0.0, 500.0));
        assert!(m.candidate(1).is_none());
    }

    #[test]
    fn the_worst_interaction_below_fifty_interactions() {
        let mut m = InteractionManager::new();
        m.add(e(1, 0.0, 100.0));
        m.add(e(2, 10.0, 600.0));
        m.add(e(3, 20.0, 400.0));
        assert_eq!(m.candidate(3).map(|i| i.latency), Some(600.0));
        // 50 interactions: skip one; 100: skip two.
        assert_eq!(m.candidate(50).map(|i| i.latency), Some(400.0));
        assert_eq!(m.candidate(100).map(|i| i.latency), Some(100.0));
        // Index is capped at the list's end.
        assert_eq!(m.candidate(10_000).map(|i| i.latency), Some(100.0));
    }

    #[test]
    fn a_longer_entry_replaces_the_interaction_entries() {
        let mut m = InteractionManager::new();
        m.add(e(7, 0.0, 40.0));
        m.add(e(7, 0.0, 80.0));
        let c = m.candidate(1).cloned();
        assert_eq!(c.as_ref().map(|c| c.latency), Some(80.0));
        assert_eq!(c.map(|c| c.entries.len()), Some(1));
    }

    #[test]
    fn an_equal_entry_with_the_same_start_is_appended() {
        let mut m = InteractionManager::new();
        m.add(e(7, 0.0, 80.0));
        m.add(e(7, 0.0, 80.0));
        m.add(e(7, 1.0, 80.0)); // different start: dropped
        m.add(e(7, 0.0, 40.0)); // shorter: dropped
        assert_eq!(m.candidate(1).map(|c| c.entries.len()), Some(2));
    }

    #[test]
    fn only_ten_interactions_are_kept() {
        let mut m = InteractionManager::new();
        for id in 1..=20u64 {
            m.add(e(id, id as f64, id as f64 * 10.0));
        }
        assert_eq!(m.interactions().len(), MAX_INTERACTIONS);
        assert_eq!(m.interactions()[0].latency, 200.0);
        assert_eq!(m.interactions()[9].latency, 110.0);
        assert!(!m.would_consider(99, 100.0));
        assert!(m.would_consider(99, 111.0));
    }

    #[test]
    fn breakdown_parts_add_up_to_the_latency() {
        let i = Interaction {
            id: 1,
            latency: 104.0,
            entries: vec![EventEntry {
                interaction_id: 1,
                start: 1000.0,
                duration: 104.0,
                processing_start: 1010.0,
                processing_end: 1070.0,
                name: 2,
                target: 7,
            }],
        };
        let b = i.breakdown();
        assert_eq!(b.input_delay, 10.0);
        assert_eq!(b.processing, 60.0);
        assert_eq!(b.presentation, 34.0);
        assert_eq!(b.target, 7);
        assert_eq!(b.event_type, 2);
    }

    #[test]
    fn breakdown_clamps_processing_to_the_next_paint() {
        let i = Interaction {
            id: 1,
            latency: 40.0,
            entries: vec![EventEntry {
                interaction_id: 1,
                start: 0.0,
                duration: 40.0,
                processing_start: 10.0,
                processing_end: 60.0,
                name: 1,
                target: 0,
            }],
        };
        let b = i.breakdown();
        assert_eq!(
            (b.input_delay, b.processing, b.presentation),
            (10.0, 30.0, 0.0)
        );
    }

    #[test]
    fn breakdown_uses_the_processing_of_the_whole_frame() {
        let mut m = InteractionManager::new();
        // pointerdown: short handler; click in the same frame: 150 ms handler.
        m.add(EventEntry {
            interaction_id: 3,
            start: 1000.0,
            duration: 200.0,
            processing_start: 1002.0,
            processing_end: 1003.0,
            name: 2,
            target: 7,
        });
        m.add(EventEntry {
            interaction_id: 3,
            start: 1040.0,
            duration: 160.0,
            processing_start: 1041.0,
            processing_end: 1191.0,
            name: 1,
            target: 7,
        });
        let i = m.candidate(1).cloned();
        let b = i.map(|i| m.breakdown(&i));
        assert_eq!(
            b.map(|b| (b.input_delay, b.processing, b.presentation)),
            Some((2.0, 189.0, 9.0))
        );
    }

    #[test]
    fn counter_counts_distinct_ids() {
        let mut c = InteractionCounter::default();
        for id in [0, 5, 5, 12, 19, 12] {
            c.observe(id);
        }
        assert_eq!(c.count(), 3);
    }

    /// Reference: group by id (max duration per id), sort descending, take the index.
    fn reference(entries: &[(u64, f64)], count: u64) -> Option<f64> {
        let mut by_id: Vec<(u64, f64)> = Vec::new();
        for &(id, d) in entries {
            if id == 0 {
                continue;
            }
            match by_id.iter_mut().find(|(i, _)| *i == id) {
                Some(x) => x.1 = x.1.max(d),
                None => by_id.push((id, d)),
            }
        }
        let mut lat: Vec<f64> = by_id.into_iter().map(|x| x.1).collect();
        lat.sort_by(|a, b| b.total_cmp(a));
        lat.truncate(MAX_INTERACTIONS);
        if lat.is_empty() {
            return None;
        }
        let idx = ((count / 50) as usize).min(lat.len() - 1);
        Some(lat[idx])
    }

    proptest! {
        #[test]
        fn candidate_equals_the_brute_force_reference(
            entries in proptest::collection::vec((0u64..40, 0u32..600), 0..200),
            count in 0u64..1000,
        ) {
            let entries: Vec<(u64, f64)> =
                entries.into_iter().map(|(i, d)| (i, f64::from(d))).collect();
            let mut m = InteractionManager::new();
            for (n, &(id, d)) in entries.iter().enumerate() {
                m.add(e(id, n as f64, d));
            }
            let got = m.candidate(count).map(|i| i.latency);
            prop_assert_eq!(got, reference(&entries, count));
            // Longest first, at most ten.
            let l = m.interactions();
            prop_assert!(l.len() <= MAX_INTERACTIONS);
            prop_assert!(l.windows(2).all(|w| w[0].latency >= w[1].latency));
        }
    }
}
