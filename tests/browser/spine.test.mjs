// The spine, end to end: the demo page includes only the script tag; the real
// wasm agent measures it in headless Chromium and beacons to the real
// collector, which stores in PostgreSQL and answers the budget verdict.
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

const byName = (rows) => Object.fromEntries(rows.map((r) => [r.name, r]));

test('the demo page reports every metric through the script tag into PostgreSQL', async () => {
  const key = uniqueSite('demo');
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${site.origin}/index.html?site=${key}`);
  await page.waitForFunction(() => document.getElementById('hero').complete);
  // Wait for TTI: the load-time long task and the hero image, then a 5 s quiet window.
  await sleep(7500);
  await page.click('#buy');
  await page.waitForFunction(() => document.getElementById('status').textContent === 'Added!');
  await sleep(300);
  // Globals the page gained beyond a fresh same-origin document's (an iframe's window).
  const globals = await page.evaluate(() => {
    const f = document.createElement('iframe');
    document.body.appendChild(f);
    const base = new Set(Object.getOwnPropertyNames(f.contentWindow));
    f.remove();
    return Object.getOwnPropertyNames(window).filter((k) => !base.has(k));
  });
  // End the page's life for real: pagehide + visibilitychange(hidden).
  await page.goto('about:blank');

  const want = ['FCP', 'LCP', 'CLS', 'FID', 'INP', 'TTFB', 'TTI'];
  const rows = await collector.waitFor(key, (r) => want.every((n) => r.some((x) => x.name === n)));
  const m = byName(rows);
  for (const n of want) assert.ok(m[n], `${n} stored; got ${rows.map((r) => r.name).join(',')}`);

  assert.equal(errors.length, 0, `no page errors: ${errors.join('; ')}`);
  // `busy` is the demo page's own function (web-demo/index.html).
  assert.deepEqual(globals, ['busy'], 'the agent defines no globals');

  // One page view, its URL, navigation type and site key on every row.
  const pv = new Set(rows.map((r) => r.page_view_id));
  assert.equal(pv.size, 1, 'one page view id');
  for (const r of rows) {
    assert.equal(r.site, key);
    assert.equal(r.navigation_type, 'navigate');
    assert.ok(r.url.startsWith(`${site.origin}/index.html?site=`), r.url);
    assert.equal(r.route, '/index.html');
    assert.ok(Number.isFinite(r.value) && r.value >= 0, `${r.name} value ${r.value}`);
  }
  // Values come from the right entries: the hero image arrives ≥ 1.5 s late,
  // the banner shifts the layout, the click handler blocks for 250 ms.
  assert.ok(m.LCP.value >= 1500, `LCP ${m.LCP.value} ≥ 1500 (late hero)`);
  assert.ok(m.FCP.value > 0 && m.FCP.value <= m.LCP.value, `FCP ${m.FCP.value} ≤ LCP`);
  assert.ok(m.TTFB.value > 0 && m.TTFB.value <= m.FCP.value, `TTFB ${m.TTFB.value} ≤ FCP`);
  assert.ok(m.CLS.value > 0, `CLS ${m.CLS.value} > 0 (banner shift)`);
  assert.ok(m.INP.value >= 250, `INP ${m.INP.value} ≥ 250 (slow handler)`);
  assert.ok(m.FID.value >= 0 && m.FID.value < m.INP.value, `FID ${m.FID.value}`);
  assert.ok(m.TTI.value >= 1250, `TTI ${m.TTI.value} ≥ end of the 1 s + 300 ms long task`);
  assert.ok(m.TBT && m.TBT.value >= 200, `TBT ${m.TBT?.value} ≥ 250 − rounding`);
  const lcpAttr = m.LCP.attribution;
  assert.equal(lcpAttr.target, '#hero', 'LCP element selector');
  assert.match(lcpAttr.url, /hero\.png/, 'LCP resource URL');

  // The verdict sees the same data.
  const v = await (await fetch(`${collector.origin}/v1/sites/${key}/verdict`)).json();
  const lcp = v.metrics.find((x) => x.metric === 'LCP');
  assert.equal(lcp.samples, 1);
  assert.equal(lcp.value, m.LCP.value);
  // The built-in budget: LCP 2 500 ms; warning from 90 %, error from 100 %, critical from 110 %.
  const severity = (v, b) => (v >= 1.1 * b ? 'critical' : v >= b ? 'error' : v >= 0.9 * b ? 'warning' : 'pass');
  assert.equal(lcp.severity, severity(lcp.value, 2500), `LCP ${lcp.value} against 2500`);
  await page.close();
});

/**
 * Loads `file` for site `key`, with `signals` (navigator properties, e.g.
 * privacy signals) set before any script runs, then leaves it so the agent
 * sends what it has. Returns the URLs the page requested.
 */
async function visit(file, key, signals = {}) {
  const page = await browser.newPage();
  const requested = [];
  page.on('request', (r) => requested.push(r.url()));
  await page.addInitScript((sig) => {
    for (const [k, v] of Object.entries(sig)) Object.defineProperty(Navigator.prototype, k, { get: () => v, configurable: true });
  }, signals);
  await page.goto(`${site.origin}/${file}?site=${key}`);
  await sleep(1500);
  await page.goto('about:blank');
  await page.close();
  return requested;
}

test('a page sampled out (data-sample-rate tiny) sends nothing', async () => {
  const key = uniqueSite('sampled');
  const requested = await visit('sampled.html', key);
  await sleep(1500);
  assert.deepEqual(await collector.metrics(key), []);
  assert.deepEqual(requested.filter((u) => u.endsWith('.wasm')), [], 'an unsampled page view does not fetch the wasm');
  // Control: the same page with sampling at 1 does report (so the check above can fail).
  await visit('plain.html', key);
  const rows = await collector.waitFor(key, (r) => r.some((x) => x.name === 'FCP'));
  assert.ok(rows.some((x) => x.name === 'FCP'), 'control page reported');
});

test('data-respect-privacy: nothing is sent under Global Privacy Control or Do-Not-Track, and only then', async () => {
  const gpc = uniqueSite('gpc');
  const dnt = uniqueSite('dnt');
  await visit('private.html', gpc, { globalPrivacyControl: true });
  await visit('private.html', dnt, { doNotTrack: '1' });
  // Controls (so the checks above can fail): the attribute without a signal,
  // and a signal without the attribute (respecting it is opt-in).
  const quiet = uniqueSite('nosignal');
  const optOut = uniqueSite('noattr');
  await visit('private.html', quiet, { globalPrivacyControl: false, doNotTrack: '0' });
  await visit('plain.html', optOut, { globalPrivacyControl: true, doNotTrack: '1' });
  for (const key of [quiet, optOut]) {
    const rows = await collector.waitFor(key, (r) => r.some((x) => x.name === 'FCP'));
    assert.ok(rows.some((x) => x.name === 'FCP'), `${key}: reported`);
  }
  await sleep(1000);
  assert.deepEqual(await collector.metrics(gpc), [], 'GPC respected');
  assert.deepEqual(await collector.metrics(dnt), [], 'DNT respected');
});

test('fetch/XHR calls that throw pass through the agent\'s wrappers unchanged and never hold TTI back', async () => {
  const key = uniqueSite('oddnet');
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${site.origin}/hostile-net.html?site=${key}`);
  // The agent observes once its wrappers are installed; only then does the
  // page make its calls (no timer racing the agent's load).
  await page.waitForFunction(() => window.fetch.toString().indexOf('/blocked') < 0);
  await page.evaluate(() => window.__callAll());
  const seen = await page.evaluate(() => window.__seen);
  assert.deepEqual(seen.fetch.map((x) => x.message), Array(3).fill('blocked by the page'), 'the page\'s own exception');
  assert.deepEqual(seen.xhr.map((x) => x.message), Array(3).fill('InvalidStateError'), 'the browser\'s own exception');
  // Each exception was thrown beneath the agent's wasm wrapper: the calls went through it.
  for (const x of [...seen.fetch, ...seen.xhr]) {
    assert.match(x.stack, /\/v1\/agent-[0-9a-f]+\.wasm:wasm-function/, `through the agent's wrapper: ${x.stack}`);
  }
  // TTI: FCP, then a 5 s quiet window — reached only if nothing stayed in flight.
  const rows = await collector.waitFor(key, (r) => r.some((x) => x.name === 'TTI'), 15000);
  assert.ok(rows.some((x) => x.name === 'TTI'), 'TTI reported');
  assert.deepEqual(errors, []);
  await page.close();
});
