// The npm package's entry (ships as index.js next to wasm-bindgen's glue
// agent.js): decides sampling and privacy before the wasm is fetched, then
// loads it and calls the agent's `start`. No metric code here.
import load, { start, onMetric as register } from "./agent.js";

var started = false, loaded = false, queue = [];

/** Calls `callback(metric)` for every metric reported (web-vitals' shape). */
export function onMetric(callback) {
  if (typeof callback == "function") loaded ? register(callback) : queue.push(callback);
}

/** Starts the agent once per page; resolves to whether it runs; never rejects. */
export function init(options) {
  try {
    var o = options || {}, N = navigator;
    if (started || !o.site || !o.endpoint || typeof WebAssembly != "object") return Promise.resolve(false);
    started = true;
    var rate = o.sampleRate == null || o.sampleRate === "" ? 1 : Number(o.sampleRate);
    rate = rate === rate ? Math.min(rate, 1) : 1;
    // Once per page view; an unsampled or private page view fetches no wasm.
    if (!(rate > 0) || Math.random() >= rate) return Promise.resolve(false);
    if (o.respectPrivacy && (N.globalPrivacyControl === true || N.doNotTrack === "1")) return Promise.resolve(false);
    var url = new URL(o.endpoint, location.href);
    // The site key in the query lets the collector refuse unknown sites before parsing.
    if (!url.searchParams.has("site")) url.searchParams.set("site", o.site);
    return load({ module_or_path: o.wasmUrl || new URL("agent_bg.wasm", import.meta.url) }).then(function () {
      loaded = true;
      queue.forEach(register);
      return start({ site: String(o.site), endpoint: url.href, sampleRate: rate, release: o.release || undefined, route: o.route || undefined, softNavs: !!o.softNavs });
    }).catch(function () { return false; });
  } catch (e) {
    return Promise.resolve(false);
  }
}
