//! The agent's state machine: observers and listeners feed one `Agent`, which
//! owns every metric of the current page view and flushes changed ones.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::{OnceCell, RefCell};
use core::sync::atomic::{AtomicBool, Ordering};

use js_sys::Array;
use vitals_core::MetricName;
use vitals_core::cls::Cls;
use vitals_core::inp::{EventEntry, InteractionCounter, InteractionManager};
use vitals_core::tti;
use vitals_core::weight::{self, ResourceType};
use vitals_core::wire::{self, Attribution, Beacon, Field, MetricRecord};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::dom::selector;
use crate::sys::{
    Listener, Observer, bind, call, construct, date_now, entries_by_type, g, get, global,
    is_hidden, is_prerendering, is_true, items, now, num, num0, object, random, set, str_is,
    string, timeout_fn,
};

/// `durationThreshold` for `event` entries (web-vitals' default).
const EVENT_DURATION_THRESHOLD: f64 = 40.0;
/// Give up on TTI after this much page time (ms).
const TTI_GIVE_UP_MS: f64 = 600_000.0;
/// The browser's default Resource Timing buffer size.
const RESOURCE_BUFFER: usize = 250;
/// Most resource / long-task intervals kept for TTI.
const MAX_INTERVALS: usize = 1000;

/// `start`'s options (a plain JS object). Sampling and privacy signals were
/// decided by the bootstrap before the wasm was fetched.
pub struct Config {
    site: String,
    /// Absolute ingest URL.
    endpoint: String,
    /// The sample rate the page view was drawn with (sent so the collector can weight it).
    sample_rate: Option<f64>,
    release: Option<String>,
    route: Option<String>,
    /// Opt-in: report per-route metrics for SPA soft navigations.
    soft_navs: bool,
}

impl Config {
    /// Read field by field through `Reflect` rather than serde-wasm-bindgen's
    /// deserializer: its error messages pull Rust's float formatting into the
    /// wasm (measured: see METRICS.md). A field of the wrong type counts as absent.
    fn read(o: &JsValue) -> Config {
        let rate = num(o, "sampleRate");
        Config {
            site: string(o, "site").unwrap_or_default(),
            endpoint: string(o, "endpoint").unwrap_or_default(),
            sample_rate: (rate > 0.0).then_some(rate.min(1.0)),
            release: non_empty(string(o, "release")),
            route: non_empty(string(o, "route")),
            soft_navs: is_true(o, "softNavs"),
        }
    }
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
    attr: Vec<(&'static str, Field)>,
}

impl Slot {
    /// The nine slots of a new page view (one function: `start` and `begin`
    /// share its code).
    #[inline(never)]
    fn fresh() -> [Slot; 9] {
        core::array::from_fn(|_| Slot::new())
    }

    /// No value yet (< 0), a new id.
    fn new() -> Slot {
        Slot {
            id: metric_id(),
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
    slots: [Slot; 9],
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
    /// Selector of the current CLS window's largest shift.
    window_target: String,
    /// Strings vitals-core's INP state holds as handles (event names, targets):
    /// each distinct one once (0: none), so the table is bounded by the page's
    /// distinct elements and event types however long the page lives.
    strings: Vec<String>,
    long_tasks: Vec<(f64, f64)>,
    requests: Vec<(f64, f64)>,
    tti_done: bool,
    /// Observers (disconnected when dropped), for `takeRecords()` before a flush.
    observers: Vec<(Kind, Observer)>,
    /// Page-lifetime listeners (removed when dropped).
    listeners: Vec<Listener>,
    noop: JsValue,
    /// The TTI re-check timer callback (one function, re-armed).
    tti_cb: JsValue,
    /// What the page view loaded (document + Resource Timing) up to its first
    /// hide; `weight_done` once that is sent (or a soft navigation ended it).
    /// Kept as the JS objects the record sends (`types`, `hosts`: see
    /// vitals-core's `weight`), updated in place: building Rust maps and
    /// converting them cost the wasm ~1 KB more.
    w_types: JsValue,
    w_hosts: JsValue,
    w_host_count: usize,
    weight_done: bool,
    /// The resource buffer was full before the agent observed: entries may be missing.
    weight_incomplete: bool,
    /// `performance.measureUserAgentSpecificMemory()`'s bytes once it resolved
    /// (cross-origin isolated pages only); NaN until then.
    memory: f64,
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

/// Starts the agent with `config` (see [`Config`]). Returns whether it runs:
/// false when it already runs or the options are unusable.
pub fn start(config: JsValue) -> bool {
    let cfg = Config::read(&config);
    if cfg.site.is_empty() || cfg.endpoint.is_empty() || STARTED.swap(true, Ordering::Relaxed) {
        return false;
    }
    let _ = CB.0.set(crate::sys::callback_fn());
    let agent = Agent {
        cfg,
        page_view: page_view_id(),
        seq: 0,
        nav_type: "navigate",
        restart: Restart::None,
        nav_url: None,
        soft_start: 0.0,
        soft_iid: 0.0,
        slots: Slot::fresh(),
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
        window_target: String::new(),
        strings: vec![String::new()],
        long_tasks: Vec::new(),
        requests: Vec::new(),
        tti_done: false,
        observers: Vec::new(),
        listeners: Vec::new(),
        noop: cb(Cb::Noop, 0.0),
        tti_cb: JsValue::UNDEFINED,
        w_types: object(),
        w_hosts: object(),
        w_host_count: 0,
        weight_done: false,
        weight_incomplete: false,
        memory: f64::NAN,
    };
    let Ok(mut slot) = AGENT.0.try_borrow_mut() else {
        return false;
    };
    // Always `None` before (STARTED); forgetting it spares the module Agent's drop glue.
    core::mem::forget(slot.replace(agent));
    drop(slot);

    // Observers first: the rest of the setup runs in this same task, so no
    // event can come between, and the agent observes ~1.5 ms sooner.
    if !is_prerendering() {
        activated();
    }
    crate::net::wrap(&cb(Cb::FetchTrap, 0.0), &cb(Cb::SendTrap, 0.0));
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
    with(|a| {
        for &(ty, c) in &LISTENERS {
            a.listen(&w, ty, c);
        }
        if is_prerendering() {
            a.listen(&g("document"), "prerenderingchange", Cb::Prerender);
        }
    });
    true
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
    /// A fetch / XHR that started at `x` ended.
    Untrack,
    /// The `apply` traps of the fetch / XHR `send` proxies.
    FetchTrap,
    SendTrap,
    /// `measureUserAgentSpecificMemory()` resolved.
    Memory,
}

impl Cb {
    /// Indexed by the code the JS callback passes back (`Cb as u32`).
    const ALL: [Cb; 18] = [
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
        Cb::Untrack,
        Cb::FetchTrap,
        Cb::SendTrap,
        Cb::Memory,
    ];
}

/// Set once activation setup ran from `prerenderingchange`, and once the
/// `load` listener fired (each runs only the first time).
static ACTIVATED: AtomicBool = AtomicBool::new(false);
static LOADED: AtomicBool = AtomicBool::new(false);

/// The raw export `__strray_cb` (`sys::callback_fn`), set by `start`.
static CB: Global<OnceCell<JsValue>> = Global(OnceCell::new());

/// A JS function running `c` with `x` and its first argument.
fn cb(c: Cb, x: f64) -> JsValue {
    CB.0.get()
        .map_or(JsValue::UNDEFINED, |f| bind(f, c as u32, x))
}

/// The callback `net` hands fetch / XHR: ends the request started at `t`.
pub fn untrack_cb(t: f64) -> JsValue {
    cb(Cb::Untrack, t)
}

/// Entry point of every JS callback (the export `__strray_cb`, `lib.rs`):
/// `e` is the event / entry list, or with `b` and `c` a proxy trap's
/// `(target, this, arguments)`. Only the traps answer (or throw).
pub fn callback(
    code: u32,
    x: f64,
    e: &JsValue,
    b: &JsValue,
    c: &JsValue,
) -> Result<JsValue, JsValue> {
    match Cb::ALL.get(code as usize) {
        Some(Cb::FetchTrap) => crate::net::fetch_trap(e, b, c),
        Some(Cb::SendTrap) => crate::net::send_trap(e, b, c),
        Some(&c) => {
            run(c, x, e);
            Ok(JsValue::UNDEFINED)
        }
        None => Ok(JsValue::UNDEFINED),
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
        Cb::Untrack => crate::net::untrack(x),
        Cb::Memory => with(|a| a.memory = num(e, "bytes")),
        // Answered in `callback`.
        Cb::FetchTrap | Cb::SendTrap => {}
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
        // `Reflect.has` through the generic call (one import fewer than js-sys's binding).
        if proto.is_object()
            && call(
                &g("Reflect"),
                "has",
                &[&proto, &JsValue::from_str("interactionId")],
            )
            .as_bool()
                == Some(true)
        {
            a.observe(Kind::Event);
        }
        // After the observers (they deliver later, so the document still
        // comes first): the weight's own setup does not delay observing.
        a.count_resource(&nav);
        // Entries past a full buffer (250 by default; pages cannot read its
        // size) were dropped before the resource observer could see them; it
        // sees every later one, full buffer or not.
        a.weight_incomplete = entries_by_type("resource").len() >= RESOURCE_BUFFER;
        // The standard memory measurement exists only for cross-origin isolated
        // pages and resolves later (at a garbage collection); a rejection is
        // swallowed, never thrown into the page.
        if is_true(&global(), "crossOriginIsolated") {
            let p = call(&g("performance"), "measureUserAgentSpecificMemory", &[]);
            let p = call(&p, "then", &[&cb(Cb::Memory, 0.0)]);
            call(&p, "catch", &[&a.noop]);
        }
    });
    // TTFB (and the TTI search) start one task after `load`.
    if str_is(&g("document"), "readyState", "complete") {
        timeout_fn(0.0, &cb(Cb::Loaded, 0.0));
    } else {
        with(|a| a.listen(&global(), "load", Cb::Load));
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
        // A restored page view starts with nothing loaded.
        a.w_types = object();
        a.w_hosts = object();
        a.w_host_count = 0;
        a.weight_done = false;
        a.memory = f64::NAN;
        a.weight_incomplete = false;
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
        if let Some(o) = Observer::new(cb(Cb::Entries, f64::from(kind as u8)), &init) {
            self.observers.push((kind, o));
        }
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
                let entries = obs.take_records();
                self.handle(kind, &entries);
            }
            i += 1;
        }
    }

    /// Listens for `ty` on `target` (capture) until the agent is dropped.
    fn listen(&mut self, target: &JsValue, ty: &'static str, c: Cb) {
        // `push`, not `extend` with the `Option`: one generic fewer in the wasm.
        if let Some(l) = Listener::new(target, ty, cb(c, 0.0)) {
            self.listeners.push(l);
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
                    self.count_resource(e);
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
            s.attr.push(("target", Field::Str(target)));
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
            s.attr.push(("url", Field::Str(url)));
        }
        s.attr.push(("ttfb", Field::Num(ttfb)));
        s.attr.push(("load_delay", Field::Num(req_start - ttfb)));
        s.attr
            .push(("load_duration", Field::Num(resp_end - req_start)));
        s.attr.push(("render_delay", Field::Num(value - resp_end)));
        s.ready = true;
    }

    fn on_shift(&mut self, e: &JsValue, start: f64) {
        if !self.cls_started {
            return;
        }
        let recent = is_true(e, "hadRecentInput");
        let window_target = &mut self.window_target;
        self.cls.add_to_window(start, num(e, "value"), recent, || {
            // The shift became its window's largest: its target is the first
            // source whose node is an Element, else the first source's node.
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
            *window_target = selector(&node);
            0
        });
    }

    /// CLS value and attribution after a batch raised the maximum window.
    fn update_cls(&mut self) {
        let value = self.cls.value();
        let mut attr = Vec::new();
        if let Some(l) = self.cls.largest_shift() {
            if !self.window_target.is_empty() {
                attr.push(("target", Field::Str(self.window_target.clone())));
            }
            attr.push(("time", Field::Num(l.time)));
        }
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
            s.attr.push(("target", Field::Str(target)));
        }
        s.attr.push(("event_type", Field::Str(ty)));
    }

    fn on_event(&mut self, e: &JsValue, start: f64) {
        let id = num0(e, "interactionId");
        let id = if id >= 1.0 { id as u64 } else { 0 };
        self.counter.observe(id);
        let duration = num(e, "duration");
        // Every entry joins a frame (attribution); only candidates get a selector.
        let keep = self.inp.would_consider(id, duration);
        let (name, target) = if keep {
            (
                self.intern(string(e, "name").unwrap_or_default()),
                self.intern(selector(&get(e, "target"))),
            )
        } else {
            (0, 0)
        };
        self.inp.add(EventEntry {
            interaction_id: id,
            start,
            duration,
            processing_start: num0(e, "processingStart"),
            processing_end: num0(e, "processingEnd"),
            name,
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
                s.attr.push(("input_delay", Field::Num(0.0)));
                s.attr.push(("processing", Field::Num(0.0)));
                s.attr.push(("presentation", Field::Num(8.0)));
            }
            return;
        };
        let latency = c.latency;
        // Recomputed even when the latency is unchanged: entries of the same
        // frame can arrive later (the `first-input` entry is sometimes delivered
        // before the interaction's `event` entries) and widen the processing span.
        let b = self.inp.breakdown(c);
        let target = self.string_of(b.target);
        let event_type = self.string_of(b.event_type);
        let s = slot_mut(self, MetricName::Inp);
        s.value = latency;
        s.attr.clear();
        if !target.is_empty() {
            s.attr.push(("target", Field::Str(target)));
        }
        s.attr.push(("event_type", Field::Str(event_type)));
        s.attr.push(("input_delay", Field::Num(b.input_delay)));
        s.attr.push(("processing", Field::Num(b.processing)));
        s.attr.push(("presentation", Field::Num(b.presentation)));
    }

    /// Handle of `s` in the string table (added once).
    fn intern(&mut self, s: String) -> u32 {
        if s.is_empty() {
            return 0;
        }
        if let Some(i) = self.strings.iter().position(|x| *x == s) {
            return i as u32;
        }
        self.strings.push(s);
        (self.strings.len() - 1) as u32
    }

    fn string_of(&self, h: u32) -> String {
        self.strings.get(h as usize).cloned().unwrap_or_default()
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
        self.page_view = page_view_id();
        self.seq = 0;
        self.restart = restart;
        self.nav_type = if restart == Restart::Soft {
            SOFT
        } else {
            "back-forward-cache"
        };
        self.slots = Slot::fresh();
        if ttfb_zero {
            let s = slot_mut(self, MetricName::Ttfb);
            s.value = 0.0;
            s.ready = true;
        }
        self.cls = Cls::new();
        self.window_target = String::new();
        self.strings.truncate(1);
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
        // The landing page view's weight ends here (soft navigations have none).
        self.finish_weight();
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
        let inflight = crate::net::in_flight();
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
        self.finish_weight();
        self.end_navigation();
    }

    /// Counts one navigation or resource entry into the page view's weight
    /// (not the agent's own beacons).
    fn count_resource(&mut self, e: &JsValue) {
        let Some(url) = string(e, "name") else {
            return;
        };
        // The endpoint without its query (`?site=`).
        let e_len = self.cfg.endpoint.bytes().position(|c| c == b'?');
        let endpoint = self.cfg.endpoint.get(..e_len.unwrap_or(usize::MAX));
        if self.weight_done || endpoint.is_some_and(|p| url.starts_with(p)) {
            return;
        }
        let ty = ResourceType::classify(
            &string(e, "initiatorType").unwrap_or_default(),
            &string(e, "contentType").unwrap_or_default(),
            &url,
        );
        let sizes = [
            num0(e, "transferSize"),
            num0(e, "encodedBodySize"),
            num0(e, "decodedBodySize"),
        ];
        let hidden = weight::is_hidden(sizes, num0(e, "responseStart"));
        add_sizes(&self.w_types, ty.as_str(), sizes, hidden);
        // The browser's own URL parser: lower-case, no user info or port, IDN
        // as punycode; a URL without a host (`blob:`, `data:`) counts under "*".
        let parsed = string(&construct("URL", &get(e, "name")), "hostname");
        let mut host = match parsed.as_deref() {
            Some(h) if !h.is_empty() => h,
            _ => weight::OTHER_HOSTS,
        };
        if !get(&self.w_hosts, host).is_object() {
            if self.w_host_count < weight::MAX_HOSTS {
                self.w_host_count += 1;
            } else {
                host = weight::OTHER_HOSTS;
            }
        }
        add_sizes(&self.w_hosts, host, sizes, hidden);
    }

    /// The first hide (or a soft navigation): the weight becomes the `WEIGHT`
    /// metric, sent once.
    fn finish_weight(&mut self) {
        let v: f64 = ResourceType::ALL
            .iter()
            .map(|t| num0(&get(&self.w_types, t.as_str()), "encoded"))
            .sum();
        if self.weight_done || !get(&self.w_types, "document").is_object() && v == 0.0 {
            return;
        }
        self.weight_done = true;
        let s = slot_mut(self, MetricName::Weight);
        s.value = v;
        s.ready = true;
    }

    /// The `WEIGHT` record's attribution (see vitals-core's `weight` module).
    fn weight_attribution(&self) -> JsValue {
        let a = object();
        set(&a, "types", &self.w_types);
        set(&a, "hosts", &self.w_hosts);
        // Chromium only (labelled as such in the README).
        let heap = num(&get(&g("performance"), "memory"), "usedJSHeapSize");
        if heap >= 0.0 {
            set(&a, "heap", &JsValue::from_f64(heap));
        }
        if self.memory >= 0.0 {
            set(&a, "memory", &JsValue::from_f64(self.memory));
        }
        if self.weight_incomplete {
            set(&a, "incomplete", &JsValue::from_f64(1.0));
        }
        a
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

    /// Sends every ready metric whose value changed since it was last sent,
    /// and hands each to the page's `onMetric` callbacks.
    fn flush(&mut self) {
        let mut metrics = Vec::new();
        for (s, &name) in self.slots.iter().zip(MetricName::ALL.iter()) {
            if s.ready && s.value >= 0.0 && s.value != s.sent {
                let unitless = name.is_unitless();
                let prev = if s.sent.is_nan() { 0.0 } else { s.sent };
                let mut attr = Vec::new();
                for (k, v) in &s.attr {
                    let v = match v {
                        Field::Str(x) => {
                            Field::Str(wire::truncate_chars(x, wire::MAX_ATTRIBUTION_CHARS).into())
                        }
                        Field::Num(x) if x.is_finite() => Field::Num(wire::round(*x, unitless)),
                        _ => continue,
                    };
                    attr.push(((*k).into(), v));
                }
                // WEIGHT's attribution is set on the serialized object (`to_json`).
                let attribution = if name == MetricName::Weight {
                    None
                } else {
                    Some(Field::Map(Attribution(attr)))
                };
                metrics.push(MetricRecord {
                    name: name.as_str().into(),
                    id: s.id.clone(),
                    value: wire::round(s.value, unitless),
                    delta: Some(Field::Num(wire::round(s.value - prev, unitless))),
                    rating: Some(Field::Str(name.rate(s.value).as_str().into())),
                    navigation_type: None,
                    attribution,
                });
            }
        }
        if metrics.is_empty() {
            return;
        }
        let href = match &self.nav_url {
            Some(u) => u.clone(),
            None => string(&g("location"), "href").unwrap_or_default(),
        };
        let connection = string(&get(&g("navigator"), "connection"), "effectiveType");
        let text = |v: Option<&str>| {
            v.filter(|v| !v.is_empty())
                .map(|v| Field::Str(wire::truncate_chars(v, wire::MAX_FIELD_CHARS).into()))
        };
        let mut beacon: Beacon<Field, u32> = Beacon {
            v: vitals_core::WIRE_VERSION,
            site: wire::truncate_chars(&self.cfg.site, wire::MAX_FIELD_CHARS).into(),
            page_view_id: self.page_view.clone(),
            url: wire::clean_url(&href).into(),
            navigation_type: self.nav_type.into(),
            metrics,
            seq: Some(self.seq),
            sample_rate: Some(Field::Num(wire::round(
                self.cfg.sample_rate.unwrap_or(1.0),
                true,
            ))),
            sent_at: Some(Field::Num(date_now())),
            release: text(self.cfg.release.as_deref()),
            // data-route names the landing page's route; after a soft navigation the
            // collector derives the route from the soft navigation's URL instead.
            route: if self.soft_start > 0.0 {
                None
            } else {
                text(self.cfg.route.as_deref())
            },
            connection: text(connection.as_deref()),
        };
        // Slot order: WEIGHT, when present, is the last record.
        let weight = match beacon.metrics.last() {
            Some(m) if m.name == MetricName::Weight.as_str() => self.weight_attribution(),
            _ => JsValue::UNDEFINED,
        };
        let Some((mut js, mut body)) = to_json(&beacon, &weight) else {
            return;
        };
        // Measured in UTF-8 bytes, as the collector and the beacon quota count.
        if body.len() >= wire::MAX_BEACON_BYTES {
            // WEIGHT is nothing without its breakdown: dropped, not cut.
            beacon
                .metrics
                .retain(|m| m.name != MetricName::Weight.as_str());
            for m in &mut beacon.metrics {
                m.attribution = None;
            }
            match to_json(&beacon, &JsValue::UNDEFINED) {
                Some(b) if b.1.len() < wire::MAX_BEACON_BYTES => (js, body) = b,
                _ => return,
            }
        }
        send(&self.cfg.endpoint, &body, &self.noop);
        crate::report::metrics(&get(&js, "metrics"), self.nav_type);
        self.seq += 1;
        for s in &mut self.slots {
            if s.ready && s.value >= 0.0 {
                s.sent = s.value;
            }
        }
    }
}

/// Adds one request's `[transfer, encoded, decoded]` to `map[key]` (created
/// at zero); a request with hidden sizes counts as unknown, not as 0 bytes.
fn add_sizes(map: &JsValue, key: &str, sizes: [f64; 3], hidden: bool) {
    let mut o = get(map, key);
    if !o.is_object() {
        o = object();
        for q in weight::QUANTITIES {
            set(&o, q, &JsValue::from_f64(0.0));
        }
        set(map, key, &o);
    }
    let add = |q: &str, v: f64| set(&o, q, &JsValue::from_f64(num0(&o, q) + v));
    add("requests", 1.0);
    if hidden {
        add("unknown", 1.0);
    } else {
        for (q, v) in weight::QUANTITIES.iter().zip(sizes) {
            add(q, v);
        }
    }
}

/// `v` as serde-wasm-bindgen builds it (maps as plain objects), with `weight`
/// (if an object) as the last metric's attribution, and its `JSON.stringify`.
fn to_json<T: serde::Serialize>(v: &T, weight: &JsValue) -> Option<(JsValue, String)> {
    let js = v
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .ok()?;
    if weight.is_object()
        && let Some(m) = items(&get(&js, "metrics")).last()
    {
        set(m, "attribution", weight);
    }
    let text = js_sys::JSON::stringify(&js).ok()?.as_string()?;
    Some((js, text))
}

/// A metric id as web-vitals makes them: `"v1-" + now + "-" + 13 random digits`.
fn metric_id() -> String {
    let t = date_now();
    let r = random();
    let t = if t.is_finite() && t > 0.0 {
        t as u64
    } else {
        0
    };
    let r = if r.is_finite() {
        r.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let n = (1_000_000_000_000u64 + (r * 8_999_999_999_999.0) as u64).min(9_999_999_999_999);
    let mut s = String::from("v1-");
    push_u64(&mut s, t);
    s.push('-');
    push_u64(&mut s, n);
    s
}

/// Decimal digits of `n` (no `core::fmt`: it is large in wasm).
/// Recursive rather than a digit buffer: no indexing, so no bounds-check panic.
fn push_u64(s: &mut String, n: u64) {
    if n >= 10 {
        push_u64(s, n / 10);
    }
    s.push(char::from(b'0' + (n % 10) as u8));
}

/// A page-view id: two random numbers below 2^53 in decimal, `<digits>-<digits>`
/// (at most 33 characters), through `metric_id`'s digit writer: the former 22
/// base-62 characters took ~150 B more of the wasm.
fn page_view_id() -> String {
    let mut s = String::new();
    for sep in ["", "-"] {
        let r = random();
        let r = if r.is_finite() {
            r.clamp(0.0, 1.0)
        } else {
            0.0
        };
        s.push_str(sep);
        // Math.random's ~52 random bits per part, ~104 in all.
        push_u64(&mut s, (r * 9_007_199_254_740_991.0) as u64);
    }
    s
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
    // The page's fetch as it was before the agent wrapped it (not counted for TTI).
    let p = crate::net::fetch(&[&url, &init]);
    call(&p, "catch", &[noop]);
}
