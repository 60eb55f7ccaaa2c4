/*CORE*/

/**
 * Starts the StrRay Vitals agent once per page. `endpoint` (the ingest URL,
 * resolved against the page URL) and `site` are required; `sampleRate` (0, 1]
 * defaults to 1. Resolves to whether the agent runs; never rejects.
 */
export function init(options) {
  try {
    var o = options || {};
    if (!o.site || !o.endpoint) return Promise.resolve(false);
    var url = new URL(o.endpoint, location.href);
    if (!url.searchParams.has("site")) url.searchParams.set("site", o.site);
    return start({
      site: String(o.site),
      endpoint: url.href,
      sampleRate: o.sampleRate == null ? 1 : Number(o.sampleRate),
      release: o.release || undefined,
      route: o.route || undefined,
      respectPrivacy: !!o.respectPrivacy,
      softNavs: !!o.softNavs
    }, o.wasmUrl || new URL("./agent_bg.wasm", import.meta.url));
  } catch (e) {
    return Promise.resolve(false);
  }
}
