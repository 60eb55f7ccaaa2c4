// Soft-navigation conformance pages only. web-vitals 6.2.3 enables
// `reportSoftNavs` only for the launched API shape (Chromium 151+):
// `PerformanceSoftNavigation.prototype.getLargestInteractionContentfulPaint()`
// and `interaction-contentful-paint` entries that nest the paint in
// `largestContentfulPaint`. The Chromium these tests run (148, with
// --enable-features=SoftNavigationHeuristics) has the pre-launch shape: a
// `SoftNavigationEntry` with a `largestInteractionContentfulPaint` attribute and
// the paint's fields on the ICP entry itself. This maps the names only (the
// entries and their values stay the browser's), so the reference library runs.
// The agent reads both shapes and does not need this file.
(function () {
  var SN = window.SoftNavigationEntry, ICP = window.InteractionContentfulPaint;
  if (window.PerformanceSoftNavigation || !SN || !ICP) return;
  if (!('largestInteractionContentfulPaint' in SN.prototype)) return;
  SN.prototype.getLargestInteractionContentfulPaint = function () {
    return this.largestInteractionContentfulPaint;
  };
  if (!('largestContentfulPaint' in ICP.prototype)) {
    Object.defineProperty(ICP.prototype, 'largestContentfulPaint', {
      get: function () { return this; },
    });
  }
  window.PerformanceSoftNavigation = SN;
})();
