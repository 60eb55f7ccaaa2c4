// Benchmark probe (runs first): records when the agent's loader starts (its
// first read of document.currentScript) and when the agent starts observing
// (its first PerformanceObserver.observe call), plus long animation frames.
(function () {
  var probe = (window.__probe = { scriptStart: null, observing: null, loafs: [], longtasks: [] });
  var desc = Object.getOwnPropertyDescriptor(Document.prototype, 'currentScript');
  Object.defineProperty(Document.prototype, 'currentScript', {
    configurable: true,
    get: function () {
      var s = desc.get.call(this);
      if (probe.scriptStart === null && s && /agent\.js/.test(s.src)) probe.scriptStart = performance.now();
      return s;
    },
  });
  var observe = PerformanceObserver.prototype.observe;
  PerformanceObserver.prototype.observe = function (o) {
    if (probe.observing === null && probe.scriptStart !== null) probe.observing = performance.now();
    return observe.call(this, o);
  };
  new PerformanceObserver(function (l) { probe.loafs = probe.loafs.concat(l.getEntries().map(function (e) {
    return { start: e.startTime, duration: e.duration, blocking: e.blockingDuration, scripts: e.scripts.map(function (s) { return { url: s.sourceURL, duration: s.duration }; }) };
  })); }).observe({ type: 'long-animation-frame', buffered: true });
  new PerformanceObserver(function (l) { probe.longtasks = probe.longtasks.concat(l.getEntries().map(function (e) { return e.duration; })); }).observe({ type: 'longtask', buffered: true });
  new PerformanceObserver(function (l) { l.getEntries().forEach(function (e) { if (e.name === 'first-contentful-paint') probe.fcp = e.startTime; }); }).observe({ type: 'paint', buffered: true });
  new PerformanceObserver(function (l) { var e = l.getEntries(); probe.lcp = e[e.length - 1].startTime; }).observe({ type: 'largest-contentful-paint', buffered: true });
})();
