//! The agent's state machine: observers and listeners feed one `Agent`, which
//! owns every metric of the current page view and flushes changed ones.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{OnceCell, RefCell};
use core::sync::atomic::{AtomicBool, Ordering};

use js_sys::Array;
use vitals_core::MetricName;
use vitals_core::beacon::{
    AttrValue, BeaconHeader, MetricReport, metric_id, page_view_id, write_beacon,
};
use vitals_core::cls::Cls;
use vitals_core::inp::{EventEntry, InteractionCounter, InteractionManager};
use vitals_core::tti;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::dom::selector;
use crate::sys::{
    bind, call, date_now, entries_by_type, g, get, global, is_hidden, is_prerendering, is_true,
    items, listen, now, num, num0, object, random, set, str_is, string, timeout_fn,
};

/// `durationThreshold` for `event` entries (web-vitals' default).
const EVENT_DURATION_THRESHOLD: f64 = 40.0;
/// Give up on TTI after this much page time (ms).
const TTI_GIVE_UP_MS: f64 = 600_000.0;
/// Most resource / long-task intervals kept for TTI.
const MAX_INTERVALS: usize = 1000;

struct Config {
    site: String,
    endpoint: String,
    sample_rate: f64,
    release: Option<String>,
    route: Option<String>,
    /// Opt-in: report per-route metrics for SPA soft navigations.
    soft_navs: bool,
}

/// Navigation type of the metrics of a soft navigation (web-vitals v6).
const SOFT: &str = "soft-navigation";

/// What began the current set of metrics.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Restart {
    /// The page load (hard navigation).
    None,
    /// A bfcache restore (`back-forward-cache`).
    Bfcache,
    /// A soft navigation.
    Soft,
}

/// One metric instance of the page view.
struct Slot {
    id: String,
    /// Current value; < 0 while unknown.
    value: f64,
    /// Last value sent; NaN before the first send.
    sent: f64,
    /// Whether the value may be sent (LCP once final, CLS/INP once hidden).
    ready: bool,
    attr: Vec<(&'static str, AttrValue)>,
}

impl Slot {
    /// No value yet (< 0), a new id.
    fn new() -> Slot {
        Slot {
            id: metric_id(date_now(), random()),
            value: -1.0,
            sent: f64::NAN,
            ready: false,
            attr: Vec::new(),
        }
    }
}

struct Agent {
    cfg: Config,
    page_view: String,
    seq: u32,
    nav_type: &'static str,
    /// Whether the current metrics began at a restart (`begin`): compared as
    /// an enum rather than `nav_type` strings (smaller wasm).
    restart: Restart,
    /// URL of the current (hard or soft) navigation; `None` (soft navs off):
    /// `location.href` at send time, as before.
    nav_url: Option<String>,
    /// `startTime` / `interactionId` of the last soft navigation (0: none yet).
    soft_start: f64,
    soft_iid: f64,
    slots: [Slot; 8],
    activation: f64,
    first_hidden: f64,
    /// FCP entry `startTime` (not activation-adjusted); NaN until seen.
    fcp: f64,
    cls: Cls,
    cls_started: bool,
    inp: InteractionManager,
    counter: InteractionCounter,
    count_base: f64,
    lcp_final: bool,
    lcp_url: String,
    fid_done: bool,
    /// FID after a bfcache restore (no `first-input` entry then), as web-vitals
    /// v4's polyfill: armed at the restore; a pending pointerdown waits for
    /// its pointerup. `(delay, startTime, type, target)`.
    fid_poly: bool,
    fid_pending: Option<(f64, f64, String, String)>,
    long_tasks: Vec<(f64, f64)>,
    requests: Vec<(f64, f64)>,
    tti_done: bool,
    /// The loader's array of start times of fetch / XHR requests in flight.
    inflight: JsValue,
    /// Observers, for `takeRecords()` before a flush.
    observers: Vec<(Kind, JsValue)>,
    noop: JsValue,
    /// The TTI re-check timer callback (one function, re-armed).
    tti_cb: JsValue,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Paint,
    Lcp,
    Shift,
    FirstInput,
    Event,
    LongTask,
    Resource,
    SoftNav,
    Icp,
}

impl Kind {
    /// Indexed by `Kind as u8` (the argument of an `Entries` callback).
    const ALL: [Kind; 9] = [
        Kind::Paint,
        Kind::Lcp,
        Kind::Shift,
        Kind::FirstInput,
        Kind::Event,
        Kind::LongTask,
        Kind::Resource,
        Kind::SoftNav,
        Kind::Icp,
    ];

    /// This kind's bit in a `drain` mask.
    fn bit(self) -> u16 {
        1 << self as u16
    }

    fn entry_type(self) -> &'static str {
        match self {
            Kind::Paint => "paint",
            Kind::Lcp => "largest-contentful-paint",
            Kind::Shift => "layout-shift",
            Kind::FirstInput => "first-input",
            Kind::Event => "event",
            Kind::LongTask => "longtask",
            Kind::Resource => "resource",
            Kind::SoftNav => "soft-navigation",
            Kind::Icp => "interaction-contentful-paint",
        }
    }
}

/// The one agent of the document, set by `start`. A static instead of an
/// `Rc` held by every callback: callbacks are bound codes (see [`Cb`]) and
/// capture nothing, so there is no reference counting or drop glue.
struct Global<T>(T);

// SAFETY: wasm32-unknown-unknown (built without the atomics feature) runs this
// module on a single thread, so the static is never shared across threads.
#[allow(unsafe_code)]
unsafe impl<T> Sync for Global<T> {}

static AGENT: Global<RefCell<Option<Agent>>> = Global(RefCell::new(None));

/// Runs `f` on the agent; does nothing if it is already borrowed (a re-entrant
/// callback is dropped rather than panicking).
fn with(f: impl FnOnce(&mut Agent)) {
    if let Ok(mut a) = AGENT.0.try_borrow_mut()
        && let Some(a) = a.as_mut()
    {
        f(a);
    }
}

fn slot_mut(a: &mut Agent, m: MetricName) -> &mut Slot {
    &mut a.slots[m as usize]
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// Set by the first `start` call: the agent runs once per document.
static STARTED: AtomicBool = AtomicBool::new(false);

pub fn start(config: &JsValue) {
    if STARTED.swap(true, Ordering::Relaxed) {
        return;
    }
    let (Some(site), Some(endpoint)) = (
        non_empty(string(config, "site")),
        non_empty(string(config, "endpoint")),
    ) else {
        return;
    };
    let rate = num(config, "sampleRate");
    let sample_rate = if rate.is_nan() { 1.0 } else { rate.min(1.0) };
    // Sampled once per page view (a bfcache restore keeps the decision).
    if sample_rate <= 0.0 || random() >= sample_rate {
        return;
    }
    if is_true(config, "respectPrivacy") {
        let nav = g("navigator");
        if is_true(&nav, "globalPrivacyControl") || str_is(&nav, "doNotTrack", "1") {
            return;
        }
    }
    let _ = CB.0.set(get(config, "cb"));
    let cfg = Config {
        site,
        endpoint,
        sample_rate,
        release: non_empty(string(config, "release")),
        route: non_empty(string(config, "route")),
        soft_navs: is_true(config, "softNavs"),
    };
    let agent = Agent {
        cfg,
        page_view: page_view_id(random),
        seq: 0,
        nav_type: "navigate",
        restart: Restart::None,
        nav_url: None,
        soft_start: 0.0,
        soft_iid: 0.0,
        slots: core::array::from_fn(|_| Slot::new()),
        activation: 0.0,
        first_hidden: f64::INFINITY,
        fcp: f64::NAN,
        cls: Cls::new(),
        cls_started: false,
        inp: InteractionManager::new(),
        counter: InteractionCounter::default(),
        count_base: 0.0,
        lcp_final: false,
        lcp_url: String::new(),
        fid_done: false,
        fid_poly: false,
        fid_pending: None,
        long_tasks: Vec::new(),
        requests: Vec::new(),
        tti_done: false,
        inflight: get(config, "inflight"),
        observers: Vec::new(),
        noop: cb(Cb::Noop, 0.0),
        tti_cb: JsValue::UNDEFINED,
    };
    let Ok(mut slot) = AGENT.0.try_borrow_mut() else {
        return;
    };
    // Always `None` before (STARTED); forgetting it spares the module Agent's drop glue.
    core::mem::forget(slot.replace(agent));
    drop(slot);

    let w = global();
    // Page-lifetime listeners (window, capture, so they run before the page's own).
    // A static table: an array literal here is built by code on the stack.
    static LISTENERS: [(&str, Cb); 11] = [
        ("visibilitychange", Cb::Visibility),
        ("pagehide", Cb::PageHide),
        ("pageshow", Cb::PageShow),
        ("keydown", Cb::LcpInput),
        ("click", Cb::LcpInput),
        ("mousedown", Cb::FidPoly),
        ("keydown", Cb::FidPoly),
        ("touchstart", Cb::FidPoly),
        ("pointerdown", Cb::FidPoly),
        ("pointerup", Cb::FidPoly),
        ("pointercancel", Cb::FidPoly),
    ];
    for &(ty, c) in &LISTENERS {
        listen(&w, ty, &cb(c, 0.0), true);
    }

    if is_prerendering() {
        listen(
            &g("document"),
            "prerenderingchange",
            &cb(Cb::Prerender, 0.0),
            true,
        );
    } else {
        activated();
    }
}

/// What a JS callback does, with its number argument `x`. Every callback of
/// the agent is the exported `cb` bound to a `Cb` and `x`: no wasm-bindgen
/// closures (their vtables, shims, table entries and JS glue cost ~0.4 KB).
#[derive(Clone, Copy)]
enum Cb {
    Visibility,
    PageHide,
    PageShow,
    /// A trusted keydown / click finalises LCP.
    LcpInput,
    FidPoly,
    /// `prerenderingchange`: activation, once.
    Prerender,
    /// `load`: TTFB and the TTI search one task later, once.
    Load,
    Loaded,
    /// Observer entries of the `Kind` numbered `x`.
    Entries,
    Tti,
    Noop,
    /// bfcache restore at time stamp `x`: first and second animation frame.
    RestoreRaf,
    RestoreFrame,
    RestoreHidden,
}

impl Cb {
    /// Indexed by the code the JS callback passes back (`Cb as u32`).
    const ALL: [Cb; 14] = [
        Cb::Visibility,
        Cb::PageHide,
        Cb::PageShow,
        Cb::LcpInput,
        Cb::FidPoly,
        Cb::Prerender,
        Cb::Load,
        Cb::Loaded,
        Cb::Entries,
        Cb::Tti,
        Cb::Noop,
        Cb::RestoreRaf,
        Cb::RestoreFrame,
        Cb::RestoreHidden,
    ];
}

/// Set once activation setup ran from `prerenderingchange`, and once the
/// `load` listener fired (each runs only the first time).
static ACTIVATED: AtomicBool = AtomicBool::new(false);
static LOADED: AtomicBool = AtomicBool::new(false);

/// The exported `cb` (from `config.cb`), set by `start`.
static CB: Global<OnceCell<JsValue>> = Global(OnceCell::new());

/// A JS function running `c` with `x` and its first argument.
fn cb(c: Cb, x: f64) -> JsValue {
    CB.0.get()
        .map_or(JsValue::UNDEFINED, |f| bind(f, c as u32, x))
}

/// Entry point of every JS callback (`lib.rs` exports it as `cb`).
pub fn callback(code: u32, x: f64, e: &JsValue) {
    if let Some(&c) = Cb::ALL.get(code as usize) {
        run(c, x, e);
    }
}

fn run(c: Cb, x: f64, e: &JsValue) {
    match c {
        Cb::Visibility => {
            if is_hidden() {
                let t = num(e, "timeStamp");
                with(|a| {
                    if a.first_hidden == f64::INFINITY {
                        a.first_hidden = if t.is_finite() { t } else { now() };
                    }
                    a.final_flush();
                });
            }
        }
        Cb::PageHide => with(Agent::final_flush),
        Cb::PageShow => {
            if is_true(e, "persisted") {
                let t = num(e, "timeStamp");
                restore(if t.is_finite() { t } else { now() });
            }
        }
        Cb::LcpInput => {
            if is_true(e, "isTrusted") {
                with(|a| {
                    if !a.lcp_final {
                        a.drain(Kind::Lcp.bit() | Kind::Icp.bit());
                        a.finalize_lcp();
                    }
                });
            }
        }
        Cb::FidPoly => with(|a| a.fid_polyfill(e)),
        Cb::Prerender => {
            if !ACTIVATED.swap(true, Ordering::Relaxed) {
                activated();
            }
        }
        Cb::Load => {
            if !LOADED.swap(true, Ordering::Relaxed) {
                timeout_fn(0.0, &cb(Cb::Loaded, 0.0));
            }
        }
        Cb::Loaded => with(Agent::on_loaded),
        Cb::Entries => {
            if let Some(&kind) = Kind::ALL.get(x as usize) {
                on_entries(kind, e);
            }
        }
        Cb::Tti => with(Agent::check_tti),
        Cb::Noop => {}
        Cb::RestoreRaf => {
            call(
                &global(),
                "requestAnimationFrame",
                &[&cb(Cb::RestoreFrame, x)],
            );
        }
        Cb::RestoreFrame => {
            let v = (now() - x).max(0.0);
            with(|a| {
                for m in [MetricName::Fcp, MetricName::Lcp] {
                    let s = slot_mut(a, m);
                    s.value = v;
                    s.ready = true;
                }
            });
        }
        Cb::RestoreHidden => {
            let h = is_hidden();
            with(|a| a.first_hidden = if h { 0.0 } else { f64::INFINITY });
        }
    }
}

/// Setup that waits for prerender activation (web-vitals "whenActivated").
fn activated() {
    with(|a| {
        let nav = nav_entry();
        a.activation = num0(&nav, "activationStart");
        a.nav_type = navigation_type(&nav);
        a.first_hidden = initial_first_hidden(a.activation);
        // Soft navigations need the interaction-contentful-paint era API (their
        // LCP); without it (or when not opted in) nothing changes.
        if a.cfg.soft_navs
            && supported("soft-navigation")
            && supported("interaction-contentful-paint")
        {
            a.nav_url = string(&nav, "name");
            a.observe(Kind::Icp);
            a.observe(Kind::SoftNav);
        }
        for kind in [
            Kind::Paint,
            Kind::Lcp,
            Kind::FirstInput,
            Kind::LongTask,
            Kind::Resource,
        ] {
            a.observe(kind);
        }
        // INP needs Event Timing with interaction ids (web-vitals' support check).
        let proto = get(&g("PerformanceEventTiming"), "prototype");
        if proto.is_object()
            && js_sys::Reflect::has(&proto, &JsValue::from_str("interactionId")).unwrap_or(false)
        {
            a.observe(Kind::Event);
        }
    });
    // TTFB (and the TTI search) start one task after `load`.
    if str_is(&g("document"), "readyState", "complete") {
        timeout_fn(0.0, &cb(Cb::Loaded, 0.0));
    } else {
        listen(&global(), "load", &cb(Cb::Load, 0.0), true);
    }
}

/// The first navigation entry, if it is valid (metrics-spec §1.5), else `undefined`.
fn nav_entry() -> JsValue {
    let nav = entries_by_type("navigation")
        .first()
        .cloned()
        .unwrap_or(JsValue::UNDEFINED);
    let rs = num(&nav, "responseStart");
    if rs > 0.0 && rs < now() {
        nav
    } else {
        JsValue::UNDEFINED
    }
}

/// metrics-spec §1.4.
fn navigation_type(nav: &JsValue) -> &'static str {
    if nav.is_undefined() {
        return "navigate";
    }
    if is_prerendering() || num0(nav, "activationStart") > 0.0 {
        return "prerender";
    }
    if is_true(&g("document"), "wasDiscarded") {
        return "restore";
    }
    if str_is(nav, "type", "reload") {
        "reload"
    } else if str_is(nav, "type", "back_forward") {
        "back-forward"
    } else {
        "navigate"
    }
}

/// metrics-spec §1.6: a `visibility-state` entry, else "hidden now" → 0.
fn initial_first_hidden(activation: f64) -> f64 {
    for e in &entries_by_type("visibility-state") {
        let t = num(e, "startTime");
        if str_is(e, "name", "hidden") && t >= activation {
            return t;
        }
    }
    if is_hidden() && !is_prerendering() {
        0.0
    } else {
        f64::INFINITY
    }
}

fn supported(ty: &str) -> bool {
    let types = get(&g("PerformanceObserver"), "supportedEntryTypes");
    types
        .dyn_ref::<Array>()
        .is_some_and(|a| call(a, "includes", &[&JsValue::from_str(ty)]).as_bool() == Some(true))
}

fn on_entries(kind: Kind, list: &JsValue) {
    let entries = items(&call(list, "getEntries", &[]));
    with(|a| a.handle(kind, &entries));
}

/// A bfcache restore: a new page view (metrics-spec §1.7).
fn restore(ts: f64) {
    with(|a| {
        a.cls_started = true;
        a.begin(Restart::Bfcache, true);
        a.lcp_final = true;
        a.fid_poly = true;
    });
    let w = global();
    if get(&w, "requestAnimationFrame").is_function() {
        call(&w, "requestAnimationFrame", &[&cb(Cb::RestoreRaf, ts)]);
    } else {
        timeout_fn(32.0, &cb(Cb::RestoreFrame, ts));
    }
    timeout_fn(0.0, &cb(Cb::RestoreHidden, 0.0));
}

/// Next TTI check.
impl Agent {
    /// Arms the next TTI check.
    fn schedule_tti(&mut self, ms: f64) {
        if self.tti_cb.is_undefined() {
            self.tti_cb = cb(Cb::Tti, 0.0);
        }
        timeout_fn(ms, &self.tti_cb);
    }

    /// Creates a buffered observer for `kind` if the browser supports it.
    fn observe(&mut self, kind: Kind) {
        let ty = kind.entry_type();
        if !supported(ty) || self.observers.iter().any(|(k, _)| *k == kind) {
            return;
        }
        let cb = cb(Cb::Entries, f64::from(kind as u8));
        let Ok(ctor) = g("PerformanceObserver").dyn_into::<js_sys::Function>() else {
            return;
        };
        // `new Array` + `push` rather than `Array.of`: those imports exist already.
        let args = Array::new();
        args.push(&cb);
        let Ok(obs) = js_sys::Reflect::construct(&ctor, &args) else {
            return;
        };
        let init = object();
        set(&init, "type", &JsValue::from_str(ty));
        set(&init, "buffered", &JsValue::TRUE);
        if kind == Kind::Event {
            set(
                &init,
                "durationThreshold",
                &JsValue::from_f64(EVENT_DURATION_THRESHOLD),
            );
        }
        call(&obs, "observe", &[&init]);
        self.observers.push((kind, obs));
    }

    /// Processes pending entries (`takeRecords()`) of the observers whose
    /// `Kind::bit` is in `keep` (a mask, not a `fn`: an indirect call keeps
    /// the function table alive), one observer at a time and in creation
    /// order: the soft-navigation observer comes first, so what the others
    /// still hold is taken (for the previous navigation) when a pending soft
    /// navigation is handled.
    fn drain(&mut self, keep: u16) {
        let mut i = 0;
        while let Some((kind, obs)) = self.observers.get(i) {
            let kind = *kind;
            if keep & kind.bit() != 0 {
                let entries = items(&call(obs, "takeRecords", &[]));
                self.handle(kind, &entries);
            }
            i += 1;
        }
    }

    fn handle(&mut self, kind: Kind, entries: &[JsValue]) {
        for e in entries {
            let start = num(e, "startTime");
            if !start.is_finite() {
                continue;
            }
            match kind {
                Kind::Paint => self.on_paint(e, start),
                Kind::Lcp => self.on_lcp(e, start),
                Kind::Shift => self.on_shift(e, start),
                Kind::FirstInput => {
                    self.on_first_input(e, start);
                    self.on_event(e, start);
                }
                Kind::Event => self.on_event(e, start),
                Kind::LongTask => {
                    let d = num0(e, "duration");
                    if self.long_tasks.len() < MAX_INTERVALS {
                        self.long_tasks.push((start, start + d));
                    }
                }
                Kind::SoftNav => self.on_soft_nav(e, start),
                Kind::Icp => self.on_icp(e),
                Kind::Resource => {
                    let fetch = num0(e, "fetchStart");
                    let end = num0(e, "responseEnd");
                    if end > 0.0 && self.requests.len() < MAX_INTERVALS {
                        self.requests
                            .push((if fetch > 0.0 { fetch } else { start }, end));
                    }
                }
            }
        }
        if matches!(kind, Kind::Event | Kind::FirstInput) {
            self.update_inp();
        }
        // CLS compares windows once per observer batch, as web-vitals does.
        if kind == Kind::Shift && self.cls.end_batch() {
            self.update_cls();
        }
    }

    fn on_paint(&mut self, e: &JsValue, start: f64) {
        if !self.fcp.is_nan() || !str_is(e, "name", "first-contentful-paint") {
            return;
        }
        if start >= self.first_hidden {
            // Hidden before first paint: no FCP, and so no CLS (metrics-spec §4, §6).
            self.fcp = f64::INFINITY;
            return;
        }
        self.fcp = start;
        let v = (start - self.activation).max(0.0);
        let s = slot_mut(self, MetricName::Fcp);
        s.value = v;
        s.ready = true;
        // CLS starts after FCP (web-vitals: "to match CrUX").
        self.cls_started = true;
        slot_mut(self, MetricName::Cls).value = 0.0;
        self.observe(Kind::Shift);
    }

    fn on_lcp(&mut self, e: &JsValue, start: f64) {
        // After a soft navigation only its interaction's paints count (on_icp).
        if self.lcp_final || start >= self.first_hidden || self.restart == Restart::Soft {
            return;
        }
        self.set_lcp(e, (start - self.activation).max(0.0));
    }

    /// An `interaction-contentful-paint` entry: an LCP candidate of the current
    /// soft navigation if its interaction caused that navigation.
    fn on_icp(&mut self, e: &JsValue) {
        if self.lcp_final
            || self.restart != Restart::Soft
            || num0(e, "interactionId") != self.soft_iid
        {
            return;
        }
        // The launched API nests the paint in `largestContentfulPaint`;
        // Chromium's pre-launch shape carries its fields on the entry itself.
        let p = get(e, "largestContentfulPaint");
        let p = if p.is_object() { p } else { e.clone() };
        let render = num0(&p, "renderTime");
        if render < self.first_hidden {
            self.set_lcp(&p, (render - self.soft_start).max(0.0));
        }
    }

    /// A new LCP candidate: value and element (attribution).
    fn set_lcp(&mut self, e: &JsValue, v: f64) {
        let mut target = selector(&get(e, "element"));
        if target.is_empty()
            && let Some(id) = non_empty(string(e, "id"))
        {
            target = String::from("#") + &id;
        }
        self.lcp_url = string(e, "url").unwrap_or_default();
        let s = slot_mut(self, MetricName::Lcp);
        s.value = v;
        s.attr.clear();
        if !target.is_empty() {
            s.attr.push(("target", AttrValue::Str(target)));
        }
    }

    /// LCP is final at the first trusted key/click or when hidden (metrics-spec §5).
    fn finalize_lcp(&mut self) {
        if self.lcp_final {
            return;
        }
        self.lcp_final = true;
        let value = self.slots[MetricName::Lcp as usize].value;
        if value < 0.0 {
            return;
        }
        // Phases (metrics-spec §9.3): ttfb, resource load delay/duration, render
        // delay; a soft navigation has no response, its phases start at its start.
        let soft = self.restart == Restart::Soft;
        let base = if soft {
            self.soft_start
        } else {
            self.activation
        };
        let ttfb = if soft {
            0.0
        } else {
            (num0(&nav_entry(), "responseStart") - base)
                .max(0.0)
                .min(value)
        };
        let (mut req_start, mut resp_end) = (ttfb, ttfb);
        let url = core::mem::take(&mut self.lcp_url);
        let resources = if url.is_empty() {
            Vec::new()
        } else {
            entries_by_type("resource")
        };
        if let Some(r) = resources.iter().find(|r| str_is(r, "name", &url)) {
            let rs = num0(r, "requestStart");
            let rs = if rs > 0.0 { rs } else { num0(r, "startTime") };
            req_start = ttfb.max(rs - base).min(value);
            resp_end = value.min(req_start.max(num0(r, "responseEnd") - base));
        }
        let s = slot_mut(self, MetricName::Lcp);
        if !url.is_empty() {
            s.attr.push(("url", AttrValue::Str(url)));
        }
        s.attr.push(("ttfb", AttrValue::Num(ttfb)));
        s.attr
            .push(("load_delay", AttrValue::Num(req_start - ttfb)));
        s.attr
            .push(("load_duration", AttrValue::Num(resp_end - req_start)));
        s.attr
            .push(("render_delay", AttrValue::Num(value - resp_end)));
        s.ready = true;
    }

    fn on_shift(&mut self, e: &JsValue, start: f64) {
        if !self.cls_started {
            return;
        }
        let recent = is_true(e, "hadRecentInput");
        self.cls.add_to_window(start, num(e, "value"), recent, || {
            // First source whose node is an Element, else the first source.
            // A loop: iterator adapters cost more wasm.
            let mut node = JsValue::NULL;
            for (i, s) in items(&get(e, "sources")).iter().enumerate() {
                let n = get(s, "node");
                if num(&n, "nodeType") == 1.0 {
                    node = n;
                    break;
                }
                if i == 0 {
                    node = n;
                }
            }
            selector(&node)
        });
    }

    /// CLS value and attribution after a batch raised the maximum window.
    fn update_cls(&mut self) {
        let value = self.cls.value();
        let attr = self
            .cls
            .largest_shift()
            .map(|l| {
                let mut v = Vec::with_capacity(2);
                if !l.target.is_empty() {
                    v.push(("target", AttrValue::Str(l.target.clone())));
                }
                v.push(("time", AttrValue::Num(l.time)));
                v
            })
            .unwrap_or_default();
        let s = slot_mut(self, MetricName::Cls);
        s.value = value;
        s.attr = attr;
    }

    fn on_first_input(&mut self, e: &JsValue, start: f64) {
        if self.fid_done {
            return;
        }
        self.fid_done = true;
        if start >= self.first_hidden {
            return;
        }
        let delay = (num(e, "processingStart") - start).max(0.0);
        if !delay.is_finite() {
            return;
        }
        let target = selector(&get(e, "target"));
        let ty = string(e, "name").unwrap_or_default();
        self.set_fid(delay, start, ty, target);
    }

    /// web-vitals v4's first-input polyfill, used after a bfcache restore: the
    /// first cancelable mousedown / keydown / touchstart, or pointerdown once
    /// its pointerup arrives (a pointercancel discards it), whichever is first.
    fn fid_polyfill(&mut self, e: &JsValue) {
        if !self.fid_poly {
            return;
        }
        let ty = string(e, "type").unwrap_or_default();
        match ty.as_str() {
            "pointerup" => {
                if let Some((delay, start, name, target)) = self.fid_pending.take() {
                    self.fid_poly = false;
                    self.set_fid(delay, start, name, target);
                }
            }
            "pointercancel" => self.fid_pending = None,
            _ => {
                // A pending pointerdown does not block the mousedown that follows it
                // (v4 records whichever completes first: usually that mousedown).
                if !is_true(e, "cancelable") {
                    return;
                }
                let ts = num(e, "timeStamp");
                // Some browsers used epoch time stamps for events.
                let delay = if ts > 1e12 {
                    date_now() - ts
                } else {
                    now() - ts
                };
                if !delay.is_finite() {
                    return;
                }
                let target = selector(&get(e, "target"));
                if ty == "pointerdown" {
                    self.fid_pending = Some((delay, ts, ty, target));
                } else {
                    self.fid_poly = false;
                    self.set_fid(delay, ts, ty, target);
                }
            }
        }
    }

    fn set_fid(&mut self, delay: f64, start: f64, ty: String, target: String) {
        if start >= self.first_hidden {
            return;
        }
        let s = slot_mut(self, MetricName::Fid);
        s.value = delay.max(0.0);
        s.ready = true;
        s.attr.clear();
        if !target.is_empty() {
            s.attr.push(("target", AttrValue::Str(target)));
        }
        s.attr.push(("event_type", AttrValue::Str(ty)));
    }

    fn on_event(&mut self, e: &JsValue, start: f64) {
        let id = num0(e, "interactionId");
        let id = if id >= 1.0 { id as u64 } else { 0 };
        self.counter.observe(id);
        let duration = num(e, "duration");
        // Every entry joins a frame (attribution); only candidates get a selector.
        let target = if self.inp.would_consider(id, duration) {
            selector(&get(e, "target"))
        } else {
            String::new()
        };
        self.inp.add(EventEntry {
            interaction_id: id,
            start,
            duration,
            processing_start: num0(e, "processingStart"),
            processing_end: num0(e, "processingEnd"),
            name: string(e, "name").unwrap_or_default(),
            target,
        });
    }

    fn update_inp(&mut self) {
        let total = num(&g("performance"), "interactionCount");
        let count = if total.is_finite() {
            (total - self.count_base).max(0.0) as u64
        } else {
            self.counter.count()
        };
        let Some(c) = self.inp.candidate(count) else {
            // web-vitals v6: interactions after a restore that all stayed
            // below the event-timing threshold count as one 8 ms interaction.
            let restored = self.restart != Restart::None;
            let s = slot_mut(self, MetricName::Inp);
            if count > 0 && restored && s.value < 0.0 {
                s.value = 8.0;
                s.attr.clear();
                s.attr.push(("input_delay", AttrValue::Num(0.0)));
                s.attr.push(("processing", AttrValue::Num(0.0)));
                s.attr.push(("presentation", AttrValue::Num(8.0)));
            }
            return;
        };
        let latency = c.latency;
        // Recomputed even when the latency is unchanged: entries of the same
        // frame can arrive later (the `first-input` entry is sometimes delivered
        // before the interaction's `event` entries) and widen the processing span.
        let b = self.inp.breakdown(c);
        let s = slot_mut(self, MetricName::Inp);
        s.value = latency;
        s.attr.clear();
        if !b.target.is_empty() {
            s.attr.push(("target", AttrValue::Str(b.target)));
        }
        s.attr.push(("event_type", AttrValue::Str(b.event_type)));
        s.attr.push(("input_delay", AttrValue::Num(b.input_delay)));
        s.attr.push(("processing", AttrValue::Num(b.processing)));
        s.attr
            .push(("presentation", AttrValue::Num(b.presentation)));
    }

    /// One task after `load`: TTFB, then the TTI search.
    fn on_loaded(&mut self) {
        self.set_ttfb();
        if supported("longtask") {
            self.schedule_tti(0.0);
        }
    }

    /// TTFB of the hard navigation, once (from the load task or an earlier soft navigation).
    fn set_ttfb(&mut self) {
        let nav = nav_entry();
        if !nav.is_undefined() && self.restart == Restart::None {
            let v = (num0(&nav, "responseStart") - self.activation).max(0.0);
            let s = slot_mut(self, MetricName::Ttfb);
            if s.value < 0.0 {
                s.value = v;
                s.ready = true;
            }
        }
    }

    /// Starts a new set of metrics (bfcache restore, soft navigation): a new
    /// page view id and metric ids; FID and TTI/TBT stay with the hard navigation.
    fn begin(&mut self, restart: Restart, ttfb_zero: bool) {
        self.page_view = page_view_id(random);
        self.seq = 0;
        self.restart = restart;
        self.nav_type = if restart == Restart::Soft {
            SOFT
        } else {
            "back-forward-cache"
        };
        self.slots = core::array::from_fn(|_| Slot::new());
        if ttfb_zero {
            let s = slot_mut(self, MetricName::Ttfb);
            s.value = 0.0;
            s.ready = true;
        }
        self.cls = Cls::new();
        if self.cls_started {
            slot_mut(self, MetricName::Cls).value = 0.0;
        }
        self.inp.clear();
        self.counter.clear();
        self.count_base = num0(&g("performance"), "interactionCount");
        self.fid_done = true;
        self.fid_poly = false;
        self.fid_pending = None;
        self.tti_done = true;
    }

    /// A `soft-navigation` entry (metrics-spec §1.10): the current navigation's
    /// metrics are final and sent, then a new set starts, measured from the
    /// entry's `startTime` and attributed to its URL.
    fn on_soft_nav(&mut self, e: &JsValue, start: f64) {
        // Entries delivered before this one belong to the previous navigation.
        self.drain(!Kind::SoftNav.bit());
        self.set_ttfb();
        self.end_navigation();
        // web-vitals: TTFB 0, only where the hard navigation had a valid entry;
        // CLS restarts at 0 if it had started (after the landing page's FCP);
        // INP counts this navigation's interactions only.
        self.begin(Restart::Soft, !nav_entry().is_undefined());
        self.nav_url = string(e, "name");
        self.soft_start = start;
        self.soft_iid = num0(e, "interactionId");
        // FCP: the soft navigation's first paint.
        let p = num0(e, "presentationTime");
        let p = if p > 0.0 { p } else { num0(e, "paintTime") };
        let s = slot_mut(self, MetricName::Fcp);
        s.value = (p - start).max(0.0);
        s.ready = true;
        self.first_hidden = f64::INFINITY;
        self.lcp_final = false;
        self.lcp_url = String::new();
        // LCP: seeded with the largest paint so far (launched API: a method;
        // Chromium's pre-launch shape: an attribute).
        let icp = call(e, "getLargestInteractionContentfulPaint", &[]);
        let icp = if icp.is_object() {
            icp
        } else {
            get(e, "largestInteractionContentfulPaint")
        };
        if icp.is_object() {
            self.on_icp(&icp);
        }
    }

    /// tti-polyfill decision (metrics-spec §10.2), re-armed until it resolves.
    fn check_tti(&mut self) {
        if self.tti_done {
            return;
        }
        let t_now = now();
        // A field heuristic only for pages that stay visible: a hidden page
        // throttles timers and long tasks, and its TTI would be meaningless.
        if self.first_hidden.is_finite()
            || self.fcp == f64::INFINITY
            || t_now.is_nan()
            || t_now >= TTI_GIVE_UP_MS
        {
            self.tti_done = true;
            return;
        }
        if self.fcp.is_nan() {
            self.schedule_tti(1000.0);
            return;
        }
        self.drain(!0);
        let nav = nav_entry();
        // The navigation request counts as completed: appended for this call
        // only (no copy of the list).
        let nav_end = num0(&nav, "responseEnd");
        let with_nav = nav_end > 0.0;
        if with_nav {
            self.requests.push((0.0, nav_end));
        }
        let mut inflight = Vec::new();
        for t in &items(&self.inflight) {
            if let Some(t) = t.as_f64() {
                inflight.push(t);
            }
        }
        let busy = tti::last_known_network_busy(&inflight, &self.requests, t_now);
        if with_nav {
            self.requests.pop();
        }
        // Search from FCP (web.dev/Lighthouse); never earlier than FCP or DCL end.
        let min_value = self.fcp.max(num0(&nav, "domContentLoadedEventEnd"));
        match tti::decide(self.fcp, min_value, busy, t_now, &self.long_tasks) {
            Some(t) => {
                self.tti_done = true;
                let tbt = tti::total_blocking_time(&self.long_tasks, self.fcp, t);
                let v = (t - self.activation).max(0.0);
                let s = slot_mut(self, MetricName::Tti);
                s.value = v;
                s.ready = true;
                let s = slot_mut(self, MetricName::Tbt);
                s.value = tbt;
                s.ready = true;
                // Send now, so TTI is not lost if the page lives on for long.
                self.flush();
            }
            None => {
                let last_task = self.long_tasks.iter().map(|t| t.1).fold(self.fcp, f64::max);
                let next =
                    (busy.max(last_task) + tti::QUIET_WINDOW_MS - t_now).clamp(1000.0, 10_000.0);
                self.schedule_tti(next);
            }
        }
    }

    /// Page hidden or unloading: finalise and send everything reportable.
    fn final_flush(&mut self) {
        self.drain(!0);
        self.end_navigation();
    }

    /// Finalises LCP, CLS and INP of the current navigation and sends.
    fn end_navigation(&mut self) {
        self.update_inp();
        self.finalize_lcp();
        if self.cls_started {
            slot_mut(self, MetricName::Cls).ready = true;
        }
        slot_mut(self, MetricName::Inp).ready = true;
        self.flush();
    }

    /// Sends every ready metric whose value changed since it was last sent.
    fn flush(&mut self) {
        let mut reports = Vec::new();
        for (i, s) in self.slots.iter().enumerate() {
            if s.ready && s.value >= 0.0 && s.value != s.sent {
                let prev = if s.sent.is_nan() { 0.0 } else { s.sent };
                reports.push(MetricReport {
                    name: MetricName::ALL[i],
                    id: &s.id,
                    value: s.value,
                    delta: s.value - prev,
                    attribution: &s.attr,
                });
            }
        }
        if reports.is_empty() {
            return;
        }
        let href = match &self.nav_url {
            Some(u) => u.clone(),
            None => string(&g("location"), "href").unwrap_or_default(),
        };
        let connection = string(&get(&g("navigator"), "connection"), "effectiveType");
        let header = BeaconHeader {
            site: &self.cfg.site,
            page_view_id: &self.page_view,
            seq: self.seq,
            url: &href,
            navigation_type: self.nav_type,
            sample_rate: self.cfg.sample_rate,
            sent_at: date_now(),
            release: self.cfg.release.as_deref(),
            // data-route names the landing page's route; after a soft navigation the
            // collector derives the route from the soft navigation's URL instead.
            route: if self.soft_start > 0.0 {
                None
            } else {
                self.cfg.route.as_deref()
            },
            connection: connection.as_deref(),
        };
        let Some(body) = write_beacon(&header, &reports) else {
            return;
        };
        send(&self.cfg.endpoint, &body, &self.noop);
        self.seq += 1;
        for s in &mut self.slots {
            if s.ready && s.value >= 0.0 {
                s.sent = s.value;
            }
        }
    }
}

/// `sendBeacon` (text/plain), else a keepalive `fetch` whose rejection is swallowed.
fn send(url: &str, body: &str, noop: &JsValue) {
    let url = JsValue::from_str(url);
    let body = JsValue::from_str(body);
    if call(&g("navigator"), "sendBeacon", &[&url, &body]).as_bool() == Some(true) {
        return;
    }
    let init = object();
    set(&init, "method", &JsValue::from_str("POST"));
    set(&init, "body", &body);
    set(&init, "keepalive", &JsValue::TRUE);
    set(&init, "credentials", &JsValue::from_str("omit"));
    let p = call(&global(), "fetch", &[&url, &init]);
    call(&p, "catch", &[noop]);
}
