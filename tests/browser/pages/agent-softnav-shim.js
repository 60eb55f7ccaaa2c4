// Soft-navigation conformance pages only. web-vitals 6.2.3 enables
// `reportSoftNavs` only for the launched API shape (Chromium 151+):
// `PerformanceSoftNavigation.prototype.getLargestInteractionContentfulPaint()`
// and `interaction-contentful-paint` entries that nest the paint in
// `largestContentfulPaint`. The Chromium these tests run (148, with
// --enable-features=SoftNavigationHeuristics) has the pre-launch shape: a
// `SoftNavigationEntry` with a `largestInteractionContentfulPaint` attribute and
// the paint's fields on the ICP entry itself. This maps the names, and the
// paint's fields into the launched entry shape (the values stay the browser's),
// so the reference library runs.
// The agent reads both shapes and does not need this file.
(function () {
  var SN = window.SoftNavigationEntry, ICP = window.InteractionContentfulPaint;
  if (window.PerformanceSoftNavigation || !SN || !ICP) return;
  if (!('largestInteractionContentfulPaint' in SN.prototype)) return;
  SN.prototype.getLargestInteractionContentfulPaint = function () {
    return this.largestInteractionContentfulPaint;
  };
  // Launched: `icp.largestContentfulPaint` is a paint entry whose startTime is
  // the paint's render (else load) time; web-vitals compares it with the
  // resource's requestStart to find the LCP image. Pre-launch, the fields sit on
  // the ICP entry, whose own startTime is the interaction's: returning the ICP
  // entry itself made web-vitals miss every soft-navigation LCP resource (all
  // phases 0). One view object per entry: web-vitals keys its targets by it.
  if (!('largestContentfulPaint' in ICP.prototype)) {
    var views = new WeakMap();
    Object.defineProperty(ICP.prototype, 'largestContentfulPaint', {
      get: function () {
        var v = views.get(this);
        if (!v) {
          v = {
            entryType: 'largest-contentful-paint', name: '',
            startTime: this.renderTime || this.loadTime, renderTime: this.renderTime,
            loadTime: this.loadTime, size: this.size, id: this.id, url: this.url,
            element: this.element,
          };
          views.set(this, v);
        }
        return v;
      },
    });
  }
  window.PerformanceSoftNavigation = SN;
})();
