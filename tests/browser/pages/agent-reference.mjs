// The reference measurement of a conformance page: Google's web-vitals (current
// major for FCP/LCP/CLS/INP/TTFB, v4 for FID) and tti-polyfill, each report
// posted to the test server as it arrives.
import { onCLS, onFCP, onINP, onLCP, onTTFB } from '/node_modules/web-vitals/dist/web-vitals.attribution.js';
import { onFID } from '/node_modules/web-vitals-v4/dist/web-vitals.attribution.js';

const pick = (o, keys) => Object.fromEntries(keys.filter((k) => o && o[k] !== undefined).map((k) => [k, o[k]]));
const fields = {
  LCP: ['target', 'url', 'timeToFirstByte', 'resourceLoadDelay', 'resourceLoadDuration', 'elementRenderDelay'],
  CLS: ['largestShiftTarget', 'largestShiftTime', 'largestShiftValue'],
  INP: ['interactionTarget', 'interactionType', 'interactionTime', 'inputDelay', 'processingDuration', 'presentationDelay'],
  FID: ['eventTarget', 'eventType', 'eventTime'],
  FCP: [],
  TTFB: [],
};
const send = (lib) => (m) =>
  window.__report({
    lib,
    name: m.name,
    value: m.value,
    delta: m.delta,
    id: m.id,
    rating: m.rating,
    navigationType: m.navigationType,
    navigationURL: m.navigationURL,
    // Start of the page view the report belongs to: web-vitals' own (0, the
    // restore or the soft navigation); v4 (FID) has none and measures the
    // hard navigation or the last restore.
    navigationStartTime: m.navigationStartTime ?? (m.navigationType === 'back-forward-cache' ? window.__restoredAt : 0),
    attribution: pick(m.attribution, fields[m.name]),
  });

// Soft-navigation pages (`<html data-soft-navs>`) turn on web-vitals' opt-in.
const reportSoftNavs = document.documentElement.hasAttribute('data-soft-navs');
const opts = { reportAllChanges: false, reportSoftNavs };
for (const on of [onCLS, onFCP, onLCP, onTTFB]) on(send('web-vitals'), opts);
// INP with reportAllChanges: web-vitals processes event entries in an idle
// callback (rIC, 1 s timeout) and its forced report on hidden runs *before* a
// still-pending idle batch. Headless Chromium often has no idle period within
// the ~0.5 s between the last click and leaving the page, so the final report
// would miss that interaction. Reporting every change makes the last report
// per id the true final value (the value is the same; only the moments differ).
onINP(send('web-vitals'), { reportAllChanges: true, reportSoftNavs });
onFID(send('web-vitals-v4'), opts);
if (window.ttiPolyfill) {
  window.ttiPolyfill.getFirstConsistentlyInteractive({}).then((v) => {
    if (v != null) window.__report({ lib: 'tti-polyfill', name: 'TTI', value: v, navigationType: 'navigate', navigationStartTime: 0 });
  });
}
