// Page weight from the field (issue 17): the agent's WEIGHT record, as the
// collector stored it, equals what the test servers sent, byte for byte —
// per Lighthouse resource type and per host; a third party without
// Timing-Allow-Origin counts as "size unknown", never as 0 bytes; a reload
// takes the cacheable script from the HTTP cache (transfer falls, compressed
// weight does not); a bfcache restore loads nothing and sends no WEIGHT.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { startCollector, startSite, launchBrowser, uniqueSite, sleep, returnViaBfcache, pageErrors, root } from './harness.mjs';

const pages = path.join(root, 'tests', 'browser', 'pages');
const bytes = (rel) => readFileSync(path.join(pages, rel)).length;
const gzipped = (rel) => gzipSync(readFileSync(path.join(pages, rel)), { level: 9 }).length;
const hero = readFileSync(path.join(root, 'web-demo', 'hero.png')).length;

let collector, site, third, browser;

before(async () => {
  collector = await startCollector();
  site = await startSite(collector.origin);
  third = await startSite(collector.origin, { host: '127.0.0.2' });
  // Playwright's default switches include --disable-back-forward-cache (see agent-bfcache.test.mjs).
  // ForceEagerMeasureMemory: measureUserAgentSpecificMemory resolves at once
  // instead of at the next garbage collection (up to 20 s later).
  browser = await launchBrowser({ ignoreDefaultArgs: ['--disable-back-forward-cache'] }, ['--enable-blink-features=ForceEagerMeasureMemory']);
});

after(async () => {
  await browser?.close();
  await third?.close();
  await site?.close();
  await collector?.stop();
});

/**
 * Loads `url` (or runs `go`) and waits until the agent's wasm has arrived and
 * had a second to start: the script is async and fetches the wasm after
 * `load`, so on a busy machine `load` alone comes too early.
 */
async function loadWithAgent(page, go) {
  const wasm = page.waitForResponse((r) => /\.wasm$/.test(r.url()));
  await (typeof go === 'string' ? page.goto(go) : go());
  await page.waitForLoadState('load');
  await wasm;
  await sleep(1000);
}

const attr = (r) => (typeof r.attribution === 'string' ? JSON.parse(r.attribution) : r.attribution);

test('WEIGHT sums what the servers sent, by type and host; unknown sizes are counted apart; cache and bfcache', async () => {
  const k = uniqueSite('weight');
  const url = `${site.origin}/agent-weight.html?site=${k}&cacheable&third=${encodeURIComponent(third.origin)}`;
  const html = Buffer.from(await (await fetch(url)).arrayBuffer()).length;
  const page = await browser.newPage();
  const errors = pageErrors(page);

  // View 1: a navigation; leaving it for a bfcache-able page flushes its WEIGHT.
  await loadWithAgent(page, url);
  await returnViaBfcache(page, `${site.origin}/plain.html`);
  // View 2 is the restored page (nothing loaded); the reload ends it, view 3.
  await sleep(300);
  await loadWithAgent(page, () => page.reload());
  await page.goto('about:blank');
  await page.close();

  const rows = await collector.waitFor(k, (rs) => rs.filter((r) => r.name === 'WEIGHT').length >= 2
    && rs.some((r) => r.navigation_type === 'back-forward-cache'));
  const weights = rows.filter((r) => r.name === 'WEIGHT');
  assert.equal(weights.length, 2, `one WEIGHT per loaded page view: ${JSON.stringify(weights.map((r) => r.navigation_type))}`);
  const first = weights.find((r) => r.navigation_type === 'navigate');
  const reload = weights.find((r) => r.navigation_type === 'reload');
  assert.ok(first && reload, 'the navigation and the reload each sent one');
  assert.ok(rows.some((r) => r.navigation_type === 'back-forward-cache'), 'the restored view was reported');
  assert.ok(!rows.some((r) => r.name === 'WEIGHT' && r.navigation_type === 'back-forward-cache'), 'a bfcache restore loads nothing');

  const scripts = bytes('weight/a.js') + gzipped('weight/b.js') + bytes('weight/c.js') + bytes('weight/t.js');
  for (const [label, row] of [['navigation', first], ['reload', reload]]) {
    const w = attr(row);
    const t = w.types;
    assert.deepEqual(t.document, { ...t.document, encoded: html, decoded: html, requests: 1, unknown: 0 }, `${label}: document`);
    assert.deepEqual(t.stylesheet, { ...t.stylesheet, encoded: bytes('weight/s.css'), decoded: bytes('weight/s.css'), requests: 1, unknown: 0 }, `${label}: stylesheet`);
    // The third party's hero.png has no Timing-Allow-Origin: counted, size unknown.
    assert.deepEqual(t.image, { ...t.image, encoded: hero, decoded: hero, requests: 2, unknown: 1 }, `${label}: image`);
    // agent.js comes from the collector without Timing-Allow-Origin: unknown too.
    assert.equal(t.script.encoded, scripts, `${label}: script compressed bytes`);
    assert.equal(t.script.decoded, scripts - gzipped('weight/b.js') + bytes('weight/b.js'), `${label}: script uncompressed bytes`);
    assert.equal(t.script.requests, 5, `${label}: script requests`);
    assert.equal(t.script.unknown, 1, `${label}: script of unknown size`);
    const own = w.hosts.localhost;
    assert.equal(own.encoded, html + bytes('weight/s.css') + hero + scripts - bytes('weight/t.js'), `${label}: first-party bytes`);
    assert.equal(own.requests, 6);
    assert.deepEqual(w.hosts['127.0.0.2'], { ...w.hosts['127.0.0.2'], encoded: bytes('weight/t.js'), decoded: bytes('weight/t.js'), requests: 2, unknown: 1 }, `${label}: third party`);
    // The collector's host (agent.js, the wasm) is there; the agent's own beacons are not counted.
    assert.ok(w.hosts['127.0.0.1'].requests >= 2, `${label}: the agent's files`);
    const sum = Object.values(t).reduce((a, x) => a + x.encoded, 0);
    assert.equal(row.value, sum, `${label}: value = compressed bytes of every type`);
    assert.ok(t.stylesheet.transfer > t.stylesheet.encoded, `${label}: a network fetch transfers headers too`);
    assert.ok(w.heap > 0, `${label}: Chromium's JS heap size`);
    assert.equal(w.memory, undefined, `${label}: no standard memory measurement outside cross-origin isolation`);
    assert.equal(w.incomplete, undefined, `${label}: nothing missed`);
  }
  const c = bytes('weight/c.js');
  assert.ok(attr(first).types.script.transfer - attr(reload).types.script.transfer >= c,
    'the reload took c.js from the HTTP cache: its bytes were not transferred again');
  assert.equal(errors.length, 0, errors.join('; '));
});

test('an agent added after the resource buffer filled says its weight is incomplete', async () => {
  const k = uniqueSite('weight-late');
  const page = await browser.newPage();
  // The full buffer hides the agent's own entries too: wait on the network.
  const wasm = page.waitForResponse((r) => /\.wasm$/.test(r.url()));
  await page.goto(`${site.origin}/agent-weight-late.html?site=${k}`);
  await page.waitForLoadState('load');
  await wasm;
  // Time to compile and start (the page is busy with its 260 images).
  await sleep(1500);
  await page.goto('about:blank');
  await page.close();
  const rows = await collector.waitFor(k, (rs) => rs.some((r) => r.name === 'WEIGHT'));
  const w = rows.find((r) => r.name === 'WEIGHT');
  assert.ok(w, `WEIGHT stored: ${JSON.stringify(rows.map((r) => r.name))}`);
  const a = attr(w);
  assert.equal(a.incomplete, 1);
  assert.ok(a.types.image.requests >= 249 && a.types.image.requests < 260, `the buffer's images only: ${a.types.image.requests}`);
});

test('a cross-origin isolated page also gets the standard memory measurement', async () => {
  const k = uniqueSite('weight-coi');
  const page = await browser.newPage();
  await loadWithAgent(page, `${site.origin}/agent-weight-coi.html?site=${k}&coi`);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'the page is cross-origin isolated');
  await page.goto('about:blank');
  await page.close();
  const rows = await collector.waitFor(k, (rs) => rs.some((r) => r.name === 'WEIGHT'));
  const w = rows.find((r) => r.name === 'WEIGHT');
  assert.ok(w, `WEIGHT stored: ${JSON.stringify(rows.map((r) => r.name))}`);
  const a = attr(w);
  assert.ok(a.memory > 0, `measureUserAgentSpecificMemory's bytes: ${a.memory}`);
  assert.ok(a.heap > 0, 'and Chromium\'s heap size');
});
