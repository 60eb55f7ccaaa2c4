// Compatibility: Google's real web-vitals library (from npm) in headless
// Chromium, reporting with sendBeacon(url, JSON.stringify(metric)) to
// /v1/web-vitals; the metrics are stored and judged by a budget check.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector, startSite, launchBrowser, uniqueSite, sleep } from './harness.mjs';

let collector, site, browser;

before(async () => {
  collector = await startCollector();
  site = await startSite(collector.origin);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await collector?.stop();
});

test('the web-vitals library reports into the same budgets', async () => {
  const key = uniqueSite('wv');
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${site.origin}/webvitals.html?site=${key}`);
  await page.waitForFunction(() => typeof webVitals === 'object');
  await sleep(500);
  await page.click('#go');
  await page.waitForFunction(() => document.getElementById('go').textContent === 'done');
  await sleep(300);
  // Hidden → LCP, CLS and INP are final and sent.
  await page.goto('about:blank');

  const want = ['FCP', 'LCP', 'CLS', 'TTFB'];
  const rows = await collector.waitFor(key, (r) => want.every((n) => r.some((x) => x.name === n)));
  for (const n of want) assert.ok(rows.some((x) => x.name === n), `${n} stored; got ${rows.map((r) => r.name).join(',')}`);
  assert.equal(errors.length, 0, errors.join('; '));
  for (const r of rows) {
    assert.equal(r.path, '/webvitals.html');
    assert.match(r.page_view_id, /^v\d+-\d+-\d+$/, 'web-vitals metric id');
    assert.ok(Number.isFinite(r.value) && r.value >= 0);
  }

  // The budget check sees them, per path.
  const budget = [{
    path: '/webvitals.html$',
    timings: [
      { metric: 'largest-contentful-paint', budget: 2500 },
      { metric: 'first-contentful-paint', budget: 2000 },
      { metric: 'cumulative-layout-shift', budget: 0.1 },
    ],
    strray: { timings: [{ metric: 'time-to-first-byte', budget: 800 }] },
  }];
  const resp = await fetch(`${collector.origin}/v1/sites/${key}/check`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ budget }),
  });
  assert.equal(resp.status, 200);
  const report = await resp.json();
  const lcpRow = rows.find((x) => x.name === 'LCP');
  const lcp = report.entries[0].timings.find((t) => t.metric === 'LCP');
  assert.equal(lcp.samples, 1);
  assert.equal(lcp.value, lcpRow.value);
  // Severity against the budget sent above: warning from 90 %, error from 100 %, critical from 110 %.
  const limits = { LCP: 2500, FCP: 2000, CLS: 0.1, TTFB: 800 };
  const severity = (v, b) => (v >= 1.1 * b ? 'critical' : v >= b ? 'error' : v >= 0.9 * b ? 'warning' : 'pass');
  assert.deepEqual(report.entries[0].timings.map((t) => t.metric).sort(), Object.keys(limits).sort());
  for (const t of report.entries[0].timings) {
    assert.equal(t.severity, severity(t.value, limits[t.metric]), `${t.metric} ${t.value} against ${limits[t.metric]}`);
  }
  await page.close();
});
