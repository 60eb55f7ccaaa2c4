// The script-tag bootstrap: `<script async src=".../agent.js" data-site="…">`.
// xtask bundles it with the npm entry and wasm-bindgen's glue into one IIFE
// (no globals); __WASM__ is the content-hashed wasm file name.
import { init } from "./index.js";

try {
  // Read synchronously: currentScript is only set while this script runs.
  var script = document.currentScript, d = script && script.dataset;
  if (d && d.site && script.src) {
    var flag = function (v) { return v != null && v !== "false"; };
    init({
      site: d.site,
      endpoint: new URL(d.endpoint || "/v1/ingest", script.src).href,
      sampleRate: d.sampleRate,
      // Empty strings count as absent.
      release: d.release,
      route: d.route,
      respectPrivacy: flag(d.respectPrivacy),
      softNavs: flag(d.softNavs),
      wasmUrl: new URL(__WASM__, script.src)
    });
  }
} catch (e) {}
