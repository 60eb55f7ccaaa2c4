// Conformance pages: runs first in <head>. Buffers long tasks for tti-polyfill
// (it was written before `buffered` observers existed and adopts `window.__tti`)
// and defines how the reference libraries' reports reach the test server.
(function () {
  if ('PerformanceLongTaskTiming' in window) {
    var tti = (window.__tti = { e: [] });
    tti.o = new PerformanceObserver(function (list) {
      tti.e = tti.e.concat(list.getEntries());
    });
    tti.o.observe({ entryTypes: ['longtask'] });
  }
  var site = new URLSearchParams(location.search).get('site') || 'demo';
  // Which document and in what order each report was made: the test groups
  // reports into page views (document + navigation start) and keeps the last
  // report per metric id.
  var doc = Math.random().toString(36).slice(2);
  var seq = 0;
  // The bfcache restore time, as web-vitals takes it (pageshow's timeStamp):
  // the navigation start of reports from libraries that do not give one.
  window.__restoredAt = 0;
  addEventListener('pageshow', function (e) {
    if (e.persisted) window.__restoredAt = e.timeStamp;
  });
  // Queued and sent a task later (or at once when hidden): a report callback
  // must stay cheap, because web-vitals measures bfcache FCP and LCP in
  // consecutive callbacks of the same animation frame.
  var queue = [];
  function flush() {
    while (queue.length) navigator.sendBeacon('/__report', JSON.stringify(queue.shift()));
  }
  window.__report = function (r) {
    r.site = site;
    r.doc = doc;
    r.seq = ++seq;
    queue.push(r);
    if (document.visibilityState === 'hidden') flush();
    else setTimeout(flush, 0);
  };
  addEventListener('pagehide', flush);
  document.addEventListener('visibilitychange', flush);
  window.__busy = function (ms) {
    var end = performance.now() + ms;
    while (performance.now() < end) {}
  };
})();
