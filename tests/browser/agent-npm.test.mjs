// The npm ES-module package (target/agent-dist/npm): `init({...})` starts the
// same agent, which reports to the collector like the script tag does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
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

test('init() from the npm package measures and reports the page', async () => {
  const pkg = JSON.parse(readFileSync(path.join(process.env.STRRAY_AGENT_DIR, 'npm/package.json'), 'utf8'));
  assert.equal(pkg.type, 'module');
  // Every file the manifest names ships (types included).
  for (const f of pkg.files) assert.ok(existsSync(path.join(process.env.STRRAY_AGENT_DIR, 'npm', f)), `${f} in the package`);
  assert.equal(pkg.exports['.'].types, './index.d.ts');
  const k = uniqueSite('npm');
  const p = await browser.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  await p.goto(`${site.origin}/agent-npm.html?site=${k}`);
  assert.equal(await p.evaluate(() => window.__init), true, 'init resolved true');
  await sleep(500);
  await p.goto('about:blank');
  await p.close();
  const rows = await collector.waitFor(k, (r) => ['FCP', 'LCP', 'TTFB', 'CLS'].every((n) => r.some((x) => x.name === n)));
  for (const n of ['FCP', 'LCP', 'TTFB', 'CLS']) assert.ok(rows.some((r) => r.name === n), `${n} stored`);
  assert.ok(rows.every((r) => r.release === 'npm-1' && r.site === k));
  assert.deepEqual(errors, []);
});

test('onMetric(callback) sees exactly what the collector stored, in web-vitals shape', async () => {
  const k = uniqueSite('onmetric');
  const p = await browser.newPage();
  await p.goto(`${site.origin}/agent-onmetric.html?site=${k}`);
  assert.equal(await p.evaluate(() => window.__init), true);
  await sleep(500);
  await p.click('#b');
  await sleep(500);
  // Hidden in place (the documented way to make the page report without
  // leaving it), so the callback's objects can still be read.
  await p.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
  });
  const seen = await p.evaluate(() => window.__metrics);
  await p.close();
  for (const n of ['FCP', 'LCP', 'TTFB', 'CLS', 'INP', 'FID']) assert.ok(seen.some((m) => m.name === n), `${n} handed to onMetric`);
  for (const m of seen) {
    assert.deepEqual(Object.keys(m).sort(), ['attribution', 'delta', 'id', 'name', 'navigationType', 'rating', 'value']);
  }
  const rows = await collector.waitFor(k, (r) => r.length >= seen.length);
  assert.equal(rows.length, seen.length, 'one stored row per callback call');
  for (const m of seen) {
    const r = rows.find((x) => x.metric_id === m.id && x.name === m.name && x.value === m.value);
    assert.ok(r, `stored: ${JSON.stringify(m)}`);
    assert.equal(r.delta, m.delta, m.name);
    assert.equal(r.rating, m.rating, m.name);
    assert.equal(r.navigation_type, m.navigationType, m.name);
    // The metrics API answers attribution as an object (absent when empty).
    assert.deepEqual(r.attribution ?? {}, m.attribution, `${m.name} attribution`);
  }
});

test('an onMetric callback may fetch, click and XHR synchronously: no error thrown into the page, nothing lost', async () => {
  // The agent's callbacks are one wasm-bindgen closure; one that could not be
  // re-entered would throw "closure invoked recursively" into the page here
  // (the browser's pageerror count, checked when the browser closes).
  const k = uniqueSite('reentry');
  const p = await browser.newPage();
  await p.goto(`${site.origin}/agent-reentry.html?site=${k}`);
  assert.equal(await p.evaluate(() => window.__init), true);
  await sleep(500);
  await p.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
  });
  await p.waitForFunction(() => window.__forwarded > 0 && window.__forwarded === window.__sync.length);
  const got = await p.evaluate(() => ({ sync: window.__sync, clicks: window.__clicks, forwarded: window.__forwarded }));
  assert.ok(got.sync.length >= 3, `callback ran per metric: ${JSON.stringify(got)}`);
  assert.ok(got.sync.every((s) => s === 200), 'every synchronous XHR completed');
  assert.equal(got.clicks, got.sync.length, 'every dispatched click reached the page');
  assert.deepEqual(browser.pageErrors, [], 'no error thrown into the page');
  await p.close();
  const rows = await collector.waitFor(k, (r) => r.length >= got.sync.length);
  assert.equal(rows.length, got.sync.length, 'every metric handed to the callback was stored');
});

test('init() never rejects: missing options, a bad endpoint, a wasm that 404s all resolve false', async () => {
  const cases = [
    {},
    { site: 'x', endpoint: 'http://[' },
    { site: 'x', endpoint: `${collector.origin}/v1/ingest`, wasmUrl: '/agent-npm/missing.wasm' },
  ];
  for (const options of cases) {
    // A fresh page each: init starts the agent once per page.
    const p = await browser.newPage();
    await p.goto(`${site.origin}/no-agent.html`);
    const got = await p.evaluate(async (o) => {
      const { init } = await import('/agent-npm/index.js');
      try {
        return await init(o);
      } catch (e) {
        return `rejected: ${e}`;
      }
    }, options);
    assert.equal(got, false, JSON.stringify(options));
    await p.close();
  }
});

test('the agent sets no cookies and uses no storage', async () => {
  const k = uniqueSite('nostore');
  const p = await browser.newPage();
  await p.goto(`${site.origin}/agent-npm.html?site=${k}`);
  assert.equal(await p.evaluate(() => window.__init), true);
  await sleep(500);
  const used = await p.evaluate(async () => ({
    cookie: document.cookie,
    local: localStorage.length,
    session: sessionStorage.length,
    idb: (await indexedDB.databases()).length,
    caches: (await caches.keys()).length,
  }));
  assert.deepEqual(used, { cookie: '', local: 0, session: 0, idb: 0, caches: 0 });
  await p.goto('about:blank');
  await collector.waitFor(k, (r) => r.length > 0);
  assert.deepEqual(await browser.cookies(), [], 'no cookie in the browser, for any origin');
  await p.close();
});
