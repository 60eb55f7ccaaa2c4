// The script-tag loader: `<script async src=".../agent.js" data-site="…">`.
// One IIFE: no globals; nothing can throw into the page.
(function () {
  "use strict";
  /*CORE*/
  try {
    // Read synchronously: currentScript is only set while this script runs.
    var script = document.currentScript;
    if (!script || !script.src) return;
    var src = script.src, d = script.dataset || {}, site = d.site;
    if (!site) return;
    var url = new URL(d.endpoint || "__ENDPOINT__", src);
    // The site key in the query lets the collector refuse unknown sites before parsing.
    if (!url.searchParams.has("site")) url.searchParams.set("site", site);
    var flag = function (v) { return v != null && v !== "false"; };
    start({
      site: site,
      endpoint: url.href,
      sampleRate: d.sampleRate == null || d.sampleRate === "" ? 1 : Number(d.sampleRate),
      // Empty strings count as absent.
      release: d.release,
      route: d.route,
      respectPrivacy: flag(d.respectPrivacy),
      softNavs: flag(d.softNavs)
    }, new URL("__WASM__", src));
  } catch (e) {}
})();
