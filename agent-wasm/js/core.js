// StrRay Vitals browser agent: the page-facing half.
//
// `start(config, wasmUrl)` observes the page — performance observers, the
// lifecycle listeners, DOM selectors for attribution — and sends beacon wire
// format v1. The metric math runs in the wasm kernel (agent-wasm/src/lib.rs,
// logic in vitals-core): CLS session windows and their largest shift, INP's
// interaction grouping, ~p98 pick and split, tti-polyfill's search and TBT,
// and the ratings. Kernel exports are one letter; strings stay here and the
// kernel holds them as handles into `S` (0: none).
//
// The agent never throws into the page: every entry point (listener,
// observer, timer) runs inside `safe`, and a missing API reads as absent.
// Which values are reported, and when, follows metrics-spec.md (web-vitals
// semantics); the comments name the rule where it is not obvious.
//
// xtask wraps this file: in the script-tag loader (an IIFE) and in the npm
// ES module; esbuild minifies both.

/* global WebAssembly */
var started = false;

function str(x) {
  return typeof x == "string" ? x : "";
}

// CSS selector of a DOM node, walking up to the document (metrics-spec §1.12),
// as web-vitals' getSelector builds it: `#id` (and stop), or the tag with its
// classes (the element's classList: unique, split at ASCII whitespace) sorted;
// a non-element's upper-cased name; stop before the steps' lengths (not
// counting the `>`s, like web-vitals) would pass 99. At most 100 steps (a
// hostile cyclic `parentNode` cannot hang the page).
function selector(n) {
  var sel = "";
  for (var i = 0; i < 100 && n; i++) {
    var type = n.nodeType;
    if (typeof type != "number" || type == 9) break;
    var el = type == 1, name = str(n.nodeName), id = el ? str(n.id) : "";
    var step = id ? "#" + id
      : !el ? name.toUpperCase().replace(/^#/, "")
      : [name.toLowerCase()].concat(Array.from(n.classList || []).sort()).join(".");
    if (sel.length + step.length > 99) {
      if (!sel) sel = step;
      break;
    }
    sel = sel ? step + ">" + sel : step;
    if (id) break;
    n = n.parentNode;
  }
  return sel;
}

// At most `n` characters (code points: never half a surrogate pair).
function cut(s, n) {
  var a = Array.from(s);
  return a.length > n ? a.slice(0, n).join("") : s;
}

// Rounded as the wire format wants: ms to 0.1, CLS to 1e-6.
function round(x, unit) {
  return Math.round(x * unit) / unit;
}

/** Starts the agent once per document. Resolves to whether it runs. */
function start(config, wasmUrl) {
  var W = self, D = document, P = performance, N = navigator;
  var site = config.site, endpoint = config.endpoint;
  if (started || !site || !endpoint || typeof WebAssembly !== "object") return Promise.resolve(false);
  started = true;
  var rate = Number(config.sampleRate);
  rate = rate === rate ? Math.min(rate, 1) : 1;
  // Sampled once per page view (a bfcache restore keeps the decision); an
  // unsampled page view does not even fetch the wasm.
  if (!(rate > 0) || Math.random() >= rate) return Promise.resolve(false);
  if (config.respectPrivacy && (N.globalPrivacyControl === true || N.doNotTrack === "1")) return Promise.resolve(false);

  var now = function () { return P.now(); };
  // Own `max(x, 0)` with Rust's NaN rule: NaN counts as 0.
  var pos = function (x) { return x > 0 ? x : 0; };
  // A number, 0 if absent or not finite.
  var n0 = function (x) { return typeof x == "number" && isFinite(x) ? x : 0; };
  var safe = function (f) {
    return function (a, b) {
      try { f(a, b); } catch (e) {}
    };
  };
  var on = function (target, type, f, once) {
    target.addEventListener(type, safe(f), { capture: true, once: !!once });
  };
  var later = function (f, ms) { setTimeout(safe(f), ms); };
  var entries = function (type) { return P.getEntriesByType(type); };
  var hidden = function () { return D.visibilityState == "hidden"; };
  var prerendering = function () { return D.prerendering === true; };
  var supported = function (type) {
    var t = W.PerformanceObserver && PerformanceObserver.supportedEntryTypes;
    return !!t && t.indexOf(type) >= 0;
  };

  // TTI (tti-polyfill): start times of the page's fetch / XHR requests still
  // in flight, which resource timing only shows once they finish. The
  // wrappers return the original promise / call the original send unchanged.
  var open = [];
  var track = function () {
    var t = now();
    open.push(t);
    return function () {
      var i = open.indexOf(t);
      if (i >= 0) open.splice(i, 1);
    };
  };
  var F = W.fetch;
  if (typeof F == "function")
    W.fetch = function () {
      var done = track(), p;
      try {
        p = F.apply(this, arguments);
      } finally {
        // A fetch that throws, or a page's polyfill that returns no promise,
        // is not in flight; its own result or exception passes unchanged.
        if (p && typeof p.then == "function") p.then(done, done);
        else done();
      }
      return p;
    };
  var X = W.XMLHttpRequest && XMLHttpRequest.prototype, xsend = X && X.send;
  if (xsend)
    X.send = function () {
      var done = track();
      try {
        this.addEventListener("loadend", done);
        return xsend.apply(this, arguments);
      } catch (e) {
        // Not sent (e.g. not opened): not in flight.
        done();
        throw e;
      }
    };

  var fromBytes = function () {
    return fetch(wasmUrl).then(function (r) { return r.arrayBuffer(); }).then(function (b) { return WebAssembly.instantiate(b, {}); });
  };
  var load = typeof WebAssembly.instantiateStreaming == "function"
    // A server without `application/wasm` fails streaming; read the bytes instead.
    ? WebAssembly.instantiateStreaming(fetch(wasmUrl), {}).catch(fromBytes)
    : fromBytes();
  return load.then(function (m) {
    run(m.instance.exports);
    return true;
  }).catch(function () { return false; });

  function run(k) {
    // Metric order of the kernel (`MetricName::ALL`).
    var NAMES = ["FCP", "LCP", "FID", "CLS", "TTI", "INP", "TTFB", "TBT"];
    var FCP = 0, LCP = 1, FID = 2, CLS = 3, TTI = 4, INP = 5, TTFB = 6, TBT = 7;
    var RATINGS = ["good", "needs-improvement", "poor"];
    // Observed entry types; an observer's kind is its index here.
    var TYPES = ["paint", "largest-contentful-paint", "layout-shift", "first-input", "event",
      "longtask", "resource", "soft-navigation", "interaction-contentful-paint"];
    var PAINT = 0, LCPK = 1, SHIFT = 2, FIRST_INPUT = 3, EVENT = 4, LONGTASK = 5, RESOURCE = 6,
      SOFT_NAV = 7, ICP = 8;
    // What began the current set of metrics.
    var HARD = 0, BFCACHE = 1, SOFT = 2;
    var ALL = -1;

    // Strings the kernel holds as handles (event names, INP targets): each
    // distinct one once, so the table is bounded by the page's distinct
    // elements and event types however long the page lives.
    var S;
    var handle = function (s) {
      var i = S.indexOf(s);
      return i >= 0 ? i : S.push(s) - 1;
    };
    var random = Math.random;
    var pageViewId = function () {
      var a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", s = "";
      for (var i = 0; i < 22; i++) s += a[(random() * 62) | 0];
      return s;
    };
    var slot = function () {
      // Metric ids: "v1-" + creation time + "-" + 13 random digits.
      return { id: "v1-" + Date.now() + "-" + (1e12 + Math.floor(random() * 8999999999999)), v: -1, sent: NaN, ready: false, a: {} };
    };

    var pageView = pageViewId(), seq = 0, navType = "navigate", restart = HARD;
    var navUrl = null, softStart = 0, softIid = 0;
    var slots, activation = 0, firstHidden = Infinity, fcp = NaN, clsStarted = false;
    var countBase = 0, lcpFinal = false, lcpUrl = "", fidDone = false, fidPoly = false, fidPending = null;
    var ttiDone = false, observers = [];
    // Selector of the current CLS window's largest shift (see the kernel's `c`).
    var windowTarget = "";
    var fresh = function () {
      slots = NAMES.map(slot);
      S = [""];
      windowTarget = "";
    };
    fresh();

    // The first navigation entry if it is valid (metrics-spec §1.5), else 0.
    var navEntry = function () {
      var nav = entries("navigation")[0], rs = nav && nav.responseStart;
      return rs > 0 && rs < now() ? nav : 0;
    };

    var observe = function (kind) {
      var type = TYPES[kind];
      if (!supported(type) || observers.some(function (o) { return o[0] == kind; })) return;
      var obs = new PerformanceObserver(safe(function (list) { take(kind, list.getEntries()); }));
      var init = { type: type, buffered: true };
      // web-vitals' default for event timing.
      if (kind == EVENT) init.durationThreshold = 40;
      obs.observe(init);
      observers.push([kind, obs]);
    };

    // Processes pending entries (`takeRecords()`) of the observers of the
    // kinds in the bit mask `keep`, in creation order: the soft-navigation
    // observer comes first, so what the others still hold is taken (for the
    // previous navigation) when a pending soft navigation is handled.
    var drain = function (keep) {
      for (var i = 0; i < observers.length; i++) {
        var o = observers[i];
        if (keep & (1 << o[0])) take(o[0], o[1].takeRecords());
      }
    };

    var take = function (kind, list) {
      for (var j = 0; j < list.length; j++) {
        var e = list[j], t = e.startTime;
        if (typeof t != "number" || !isFinite(t)) continue;
        if (kind == PAINT) onPaint(e, t);
        else if (kind == LCPK) onLcp(e, t);
        else if (kind == SHIFT) onShift(e, t);
        else if (kind == FIRST_INPUT) {
          onFirstInput(e, t);
          onEvent(e, t);
        } else if (kind == EVENT) onEvent(e, t);
        else if (kind == LONGTASK) k.l(0, t, t + n0(e.duration));
        else if (kind == RESOURCE) {
          var fetchStart = n0(e.fetchStart), end = n0(e.responseEnd);
          if (end > 0) k.l(1, fetchStart > 0 ? fetchStart : t, end);
        } else if (kind == SOFT_NAV) onSoftNav(e, t);
        else if (kind == ICP) onIcp(e);
      }
      if (kind == EVENT || kind == FIRST_INPUT) updateInp();
      // CLS compares windows once per observer batch, as web-vitals does.
      if (kind == SHIFT) {
        var v = k.C();
        if (v >= 0) {
          var s = slots[CLS];
          s.v = v;
          s.a = windowTarget ? { target: windowTarget, time: k.o(0) } : { time: k.o(0) };
        }
      }
    };

    var onPaint = function (e, t) {
      if (fcp === fcp || e.name != "first-contentful-paint") return;
      if (t >= firstHidden) {
        // Hidden before first paint: no FCP, and so no CLS (metrics-spec §4, §6).
        fcp = Infinity;
        return;
      }
      fcp = t;
      var s = slots[FCP];
      s.v = pos(t - activation);
      s.ready = true;
      // CLS starts after FCP (web-vitals: "to match CrUX").
      clsStarted = true;
      slots[CLS].v = 0;
      observe(SHIFT);
    };

    var onLcp = function (e, t) {
      // After a soft navigation only its interaction's paints count (onIcp).
      if (lcpFinal || t >= firstHidden || restart == SOFT) return;
      setLcp(e, pos(t - activation));
    };

    // An `interaction-contentful-paint` entry: an LCP candidate of the current
    // soft navigation if its interaction caused that navigation.
    var onIcp = function (e) {
      if (lcpFinal || restart != SOFT || n0(e.interactionId) != softIid) return;
      // The launched API nests the paint in `largestContentfulPaint`;
      // Chromium's pre-launch shape carries its fields on the entry itself.
      var p = e.largestContentfulPaint;
      if (!p || typeof p != "object") p = e;
      var render = n0(p.renderTime);
      if (render < firstHidden) setLcp(p, pos(render - softStart));
    };

    var setLcp = function (e, v) {
      var target = selector(e.element), id = str(e.id);
      if (!target && id) target = "#" + id;
      lcpUrl = str(e.url);
      var s = slots[LCP];
      s.v = v;
      s.a = target ? { target: target } : {};
    };

    // LCP is final at the first trusted key/click or when hidden (metrics-spec §5).
    var finalizeLcp = function () {
      if (lcpFinal) return;
      lcpFinal = true;
      var s = slots[LCP], value = s.v;
      if (value < 0) return;
      // Phases (metrics-spec §9.3): ttfb, resource load delay/duration, render
      // delay; a soft navigation has no response, its phases start at its start.
      var soft = restart == SOFT, base = soft ? softStart : activation, nav = navEntry();
      var ttfb = soft ? 0 : Math.min(pos(n0(nav && nav.responseStart) - base), value);
      var reqStart = ttfb, respEnd = ttfb, url = lcpUrl;
      lcpUrl = "";
      var r = url && entries("resource").filter(function (r) { return r.name === url; })[0];
      if (r) {
        var rs = n0(r.requestStart);
        reqStart = Math.min(Math.max(ttfb, (rs > 0 ? rs : n0(r.startTime)) - base), value);
        respEnd = Math.min(value, Math.max(reqStart, n0(r.responseEnd) - base));
      }
      if (url) s.a.url = url;
      s.a.ttfb = ttfb;
      s.a.load_delay = reqStart - ttfb;
      s.a.load_duration = respEnd - reqStart;
      s.a.render_delay = value - respEnd;
      s.ready = true;
    };

    var onShift = function (e, t) {
      if (!clsStarted) return;
      if (k.c(t, Number(e.value), e.hadRecentInput === true ? 1 : 0)) {
        // The shift became its window's largest: its target is the first
        // source whose node is an Element, else the first source's node.
        var src = e.sources || [], node = src[0] && src[0].node;
        for (var i = 0; i < src.length; i++) {
          var n = src[i] && src[i].node;
          if (n && n.nodeType == 1) {
            node = n;
            break;
          }
        }
        windowTarget = selector(node);
      }
    };

    var onFirstInput = function (e, t) {
      if (fidDone) return;
      fidDone = true;
      if (t >= firstHidden) return;
      var delay = pos(e.processingStart - t);
      if (isFinite(delay)) setFid(delay, t, str(e.name), selector(e.target));
    };

    // web-vitals v4's first-input polyfill, used after a bfcache restore: the
    // first cancelable mousedown / keydown / touchstart, or pointerdown once
    // its pointerup arrives (a pointercancel discards it), whichever is first.
    var fidPolyfill = function (e) {
      if (!fidPoly) return;
      var type = str(e.type);
      if (type == "pointerup") {
        if (fidPending) {
          var p = fidPending;
          fidPending = null;
          fidPoly = false;
          setFid(p[0], p[1], p[2], p[3]);
        }
      } else if (type == "pointercancel") fidPending = null;
      // A pending pointerdown does not block the mousedown that follows it
      // (v4 records whichever completes first: usually that mousedown).
      else if (e.cancelable === true) {
        var ts = Number(e.timeStamp);
        // Some browsers used epoch time stamps for events.
        var delay = ts > 1e12 ? Date.now() - ts : now() - ts;
        if (!isFinite(delay)) return;
        var target = selector(e.target);
        if (type == "pointerdown") fidPending = [delay, ts, type, target];
        else {
          fidPoly = false;
          setFid(delay, ts, type, target);
        }
      }
    };

    var setFid = function (delay, t, type, target) {
      if (t >= firstHidden) return;
      var s = slots[FID];
      s.v = pos(delay);
      s.ready = true;
      s.a = target ? { target: target, event_type: type } : { event_type: type };
    };

    var onEvent = function (e, t) {
      var id = n0(e.interactionId), duration = Number(e.duration);
      // Every entry joins a frame (attribution); only candidates get strings.
      var keep = k.w(id, duration);
      k.e(id, t, duration, n0(e.processingStart), n0(e.processingEnd),
        keep ? handle(str(e.name)) : 0, keep ? handle(selector(e.target)) : 0);
    };

    var updateInp = function () {
      var total = P.interactionCount;
      var v = k.i(typeof total == "number" && isFinite(total) ? total - countBase : NaN);
      var s = slots[INP];
      if (v >= 0) {
        var target = S[k.o(4)];
        s.v = v;
        s.a = { event_type: S[k.o(5)], input_delay: k.o(1), processing: k.o(2), presentation: k.o(3) };
        if (target) s.a.target = target;
      } else if (v == -2 && restart != HARD && s.v < 0) {
        // web-vitals v6: interactions after a restore that all stayed below
        // the event-timing threshold count as one 8 ms interaction.
        s.v = 8;
        s.a = { input_delay: 0, processing: 0, presentation: 8 };
      }
    };

    // TTFB of the hard navigation, once (from the load task or an earlier soft navigation).
    var setTtfb = function () {
      var nav = navEntry(), s = slots[TTFB];
      if (nav && restart == HARD && s.v < 0) {
        s.v = pos(nav.responseStart - activation);
        s.ready = true;
      }
    };

    // Starts a new set of metrics (bfcache restore, soft navigation): a new
    // page view id and metric ids; FID and TTI/TBT stay with the hard navigation.
    var begin = function (kind, ttfbZero) {
      pageView = pageViewId();
      seq = 0;
      restart = kind;
      navType = kind == SOFT ? "soft-navigation" : "back-forward-cache";
      fresh();
      k.r();
      if (ttfbZero) {
        slots[TTFB].v = 0;
        slots[TTFB].ready = true;
      }
      if (clsStarted) slots[CLS].v = 0;
      countBase = n0(P.interactionCount);
      fidDone = true;
      fidPoly = false;
      fidPending = null;
      ttiDone = true;
    };

    // A `soft-navigation` entry (metrics-spec §1.10): the current navigation's
    // metrics are final and sent, then a new set starts, measured from the
    // entry's `startTime` and attributed to its URL.
    var onSoftNav = function (e, t) {
      // Entries delivered before this one belong to the previous navigation.
      drain(ALL & ~(1 << SOFT_NAV));
      setTtfb();
      endNavigation();
      // web-vitals: TTFB 0, only where the hard navigation had a valid entry;
      // CLS restarts at 0 if it had started; INP counts this navigation's
      // interactions only.
      begin(SOFT, !!navEntry());
      navUrl = typeof e.name == "string" ? e.name : null;
      softStart = t;
      softIid = n0(e.interactionId);
      // FCP: the soft navigation's first paint.
      var p = n0(e.presentationTime);
      slots[FCP].v = pos((p > 0 ? p : n0(e.paintTime)) - t);
      slots[FCP].ready = true;
      firstHidden = Infinity;
      lcpFinal = false;
      lcpUrl = "";
      // LCP: seeded with the largest paint so far (launched API: a method;
      // Chromium's pre-launch shape: an attribute).
      var icp = typeof e.getLargestInteractionContentfulPaint == "function"
        ? e.getLargestInteractionContentfulPaint() : e.largestInteractionContentfulPaint;
      if (icp && typeof icp == "object") onIcp(icp);
    };

    // tti-polyfill decision (metrics-spec §10.2), re-armed until it resolves.
    var checkTti = function () {
      if (ttiDone) return;
      var t = now();
      // A field heuristic only for pages that stay visible: a hidden page
      // throttles timers and long tasks, and its TTI would be meaningless.
      if (isFinite(firstHidden) || fcp == Infinity || !(t < 600000)) {
        ttiDone = true;
        return;
      }
      if (fcp !== fcp) return later(checkTti, 1000);
      drain(ALL);
      var nav = navEntry();
      open.forEach(function (s) { k.f(s); });
      // Search from FCP (web.dev/Lighthouse); never earlier than FCP or DCL end.
      var tti = k.t(fcp, Math.max(fcp, n0(nav && nav.domContentLoadedEventEnd)), t, n0(nav && nav.responseEnd));
      if (tti < 0) return later(checkTti, k.o(6));
      ttiDone = true;
      slots[TTI].v = pos(tti - activation);
      slots[TTI].ready = true;
      slots[TBT].v = k.o(6);
      slots[TBT].ready = true;
      // Send now, so TTI is not lost if the page lives on for long.
      flush();
    };

    // Page hidden or unloading: finalise and send everything reportable.
    var finalFlush = function () {
      drain(ALL);
      endNavigation();
    };

    var endNavigation = function () {
      updateInp();
      finalizeLcp();
      if (clsStarted) slots[CLS].ready = true;
      slots[INP].ready = true;
      flush();
    };

    // Sends every ready metric whose value changed since it was last sent.
    var flush = function () {
      var metrics = [];
      slots.forEach(function (s, i) {
        if (!(s.ready && s.v >= 0 && s.v !== s.sent)) return;
        var unit = i == CLS ? 1e6 : 10, a = {};
        for (var key in s.a) {
          var x = s.a[key];
          if (typeof x == "string") a[key] = cut(x, 500);
          else if (isFinite(x)) a[key] = round(x, unit);
        }
        metrics.push({
          name: NAMES[i], id: s.id, value: round(s.v, unit),
          delta: round(s.v - (s.sent === s.sent ? s.sent : 0), unit),
          rating: RATINGS[k.g(i, s.v)], attribution: a
        });
      });
      if (!metrics.length) return;
      var connection = N.connection && N.connection.effectiveType;
      var body = {
        v: 1, site: cut(site, 256), page_view_id: pageView, seq: seq,
        url: cut((navUrl == null ? location.href : navUrl).split("#")[0], 2048),
        navigation_type: navType, sample_rate: round(rate, 1e6), sent_at: Date.now(), metrics: metrics
      };
      // data-route names the landing page's route; after a soft navigation the
      // collector derives the route from the soft navigation's URL instead.
      var extra = { release: config.release, route: softStart > 0 ? "" : config.route, connection: connection };
      for (var key in extra) if (typeof extra[key] == "string" && extra[key]) body[key] = cut(extra[key], 256);
      var json = JSON.stringify(body);
      // The sendBeacon quota is 64 KiB per page: stay far below it.
      if (json.length > 16384) {
        metrics.forEach(function (m) { m.attribution = {}; });
        json = JSON.stringify(body);
      }
      send(json);
      seq++;
      slots.forEach(function (s) {
        if (s.ready && s.v >= 0) s.sent = s.v;
      });
    };

    // `sendBeacon` (text/plain), else a keepalive `fetch` whose rejection is swallowed.
    var send = function (body) {
      try {
        if (N.sendBeacon(endpoint, body)) return;
      } catch (e) {}
      fetch(endpoint, { method: "POST", body: body, keepalive: true, credentials: "omit" }).catch(function () {});
    };

    // A bfcache restore: a new page view (metrics-spec §1.7).
    var restore = function (ts) {
      clsStarted = true;
      begin(BFCACHE, true);
      lcpFinal = true;
      fidPoly = true;
      var frame = function () {
        var v = pos(now() - ts);
        [FCP, LCP].forEach(function (m) {
          slots[m].v = v;
          slots[m].ready = true;
        });
      };
      if (typeof W.requestAnimationFrame == "function")
        requestAnimationFrame(safe(function () { requestAnimationFrame(safe(frame)); }));
      else later(frame, 32);
      later(function () { firstHidden = hidden() ? 0 : Infinity; }, 0);
    };

    // Setup that waits for prerender activation (web-vitals "whenActivated").
    var activated = function () {
      var nav = navEntry();
      activation = n0(nav && nav.activationStart);
      // metrics-spec §1.4.
      navType = !nav ? "navigate"
        : prerendering() || activation > 0 ? "prerender"
        : D.wasDiscarded === true ? "restore"
        : nav.type == "reload" ? "reload"
        : nav.type == "back_forward" ? "back-forward" : "navigate";
      // metrics-spec §1.6: a `visibility-state` entry, else "hidden now" → 0.
      firstHidden = hidden() && !prerendering() ? 0 : Infinity;
      var vis = entries("visibility-state");
      for (var i = 0; i < vis.length; i++)
        if (vis[i].name == "hidden" && vis[i].startTime >= activation) {
          firstHidden = vis[i].startTime;
          break;
        }
      // Soft navigations need the interaction-contentful-paint era API (their
      // LCP); without it (or when not opted in) nothing changes.
      if (config.softNavs && supported(TYPES[SOFT_NAV]) && supported(TYPES[ICP])) {
        navUrl = nav && typeof nav.name == "string" ? nav.name : null;
        observe(ICP);
        observe(SOFT_NAV);
      }
      [PAINT, LCPK, FIRST_INPUT, LONGTASK, RESOURCE].forEach(observe);
      // INP needs Event Timing with interaction ids (web-vitals' support check).
      if (W.PerformanceEventTiming && "interactionId" in PerformanceEventTiming.prototype) observe(EVENT);
      // TTFB (and the TTI search) start one task after `load`.
      var loaded = function () {
        setTtfb();
        if (supported(TYPES[LONGTASK])) later(checkTti, 0);
      };
      if (D.readyState == "complete") later(loaded, 0);
      else on(W, "load", function () { later(loaded, 0); }, true);
    };

    // Page-lifetime listeners (window, capture, so they run before the page's own).
    on(W, "visibilitychange", function (e) {
      if (!hidden()) return;
      if (firstHidden == Infinity) firstHidden = isFinite(e.timeStamp) ? e.timeStamp : now();
      finalFlush();
    });
    on(W, "pagehide", finalFlush);
    on(W, "pageshow", function (e) {
      if (e.persisted === true) restore(isFinite(e.timeStamp) ? e.timeStamp : now());
    });
    // A trusted keydown / click finalises LCP.
    ["keydown", "click"].forEach(function (type) {
      on(W, type, function (e) {
        if (e.isTrusted !== true || lcpFinal) return;
        drain((1 << LCPK) | (1 << ICP));
        finalizeLcp();
      });
    });
    ["mousedown", "keydown", "touchstart", "pointerdown", "pointerup", "pointercancel"].forEach(function (type) {
      on(W, type, fidPolyfill);
    });
    if (prerendering()) on(D, "prerenderingchange", activated, true);
    else activated();
  }
}
