// SPA soft navigations (opt-in `data-soft-navs`), compared with web-vitals
// 6.2.3 `reportSoftNavs: true` in the same page load. Chromium 156 emits
// `soft-navigation` entries by default; 148 only with
// --enable-features=SoftNavigationHeuristics, so this file launches its own
// browser with that switch; on 148 the page maps Chromium's pre-launch entry
// shape to the one web-vitals checks for (pages/agent-softnav-shim.js).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector, startSite, launchBrowser, uniqueSite, sleep, returnViaBfcache } from './harness.mjs';
import { compare as compareWith } from './agent-compare.mjs';

const SOFT_NAV_FLAG = '--enable-features=SoftNavigationHeuristics';

let collector, site, browser;

before(async () => {
  collector = await startCollector();
  site = await startSite(collector.origin);
  browser = await launchBrowser({}, [SOFT_NAV_FLAG]);
});

after(async () => {
  await browser?.close();
  await site?.close();
  await collector?.stop();
});

/** Landing route, a slow click, a soft navigation, a shift and a slow click on the new route; then leave. */
async function run(query = '', b = browser) {
  const k = uniqueSite('softnav');
  const p = await b.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  await p.goto(`${site.origin}/agent-softnav.html?site=${k}${query}`);
  const supported = await p.evaluate(() => PerformanceObserver.supportedEntryTypes.includes('soft-navigation'));
  assert.equal(supported, b === browser, 'soft-navigation entries only with the feature flag');
  await sleep(600);
  await p.click('#slow');
  await sleep(400);
  await p.click('#go');
  if (supported) await p.waitForFunction(() => performance.getEntriesByType('soft-navigation').length === 1, null, { timeout: 5000 });
  await sleep(1200);
  await p.click('#buy');
  await sleep(500);
  await p.goto('about:blank');
  await p.close();
  assert.deepEqual(errors, [], 'no page errors');
  return k;
}

const hard = ['FCP', 'LCP', 'CLS', 'TTFB', 'FID', 'INP'];

/**
 * Compares per (metric, navigation type, navigation URL path): web-vitals'
 * reports (latest per metric id) with the agent's rows (latest per metric id).
 * `ready(lib)` says when web-vitals has reported everything expected.
 */
async function matchPerUrl(t, k, ready) {
  let lib = [];
  for (let i = 0; i < 50; i++) {
    lib = site.beacons.filter((b) => b.site === k);
    if (ready(lib)) break;
    await sleep(100);
  }
  await sleep(300);
  lib = [...new Map(site.beacons.filter((b) => b.site === k).map((b) => [b.id, b])).values()];
  // FID comes from web-vitals v4, which has no navigationURL: matched without one.
  const key = (name, nav, url) => (name === 'FID' ? `${name} ${nav}` : `${name} ${nav} ${url.replace(/^.*\//, '/').replace(/\?.*/, '')}`);
  const want = lib.map((l) => key(l.name, l.navigationType, l.navigationURL));
  const rows = await collector.waitFor(k, (rs) => want.every((w) => rs.some((r) => key(r.name, r.navigation_type, r.url) === w)));
  await sleep(500);
  const agent = [...new Map((await collector.metrics(k)).map((r) => [r.metric_id, r])).values()].filter((r) => r.name !== 'TBT');
  const got = agent.map((r) => key(r.name, r.navigation_type, r.url));
  t.diagnostic(`web-vitals: ${lib.map((l) => `${key(l.name, l.navigationType, l.navigationURL)}=${Math.round(l.value * 1e4) / 1e4}`).join(', ')}`);
  assert.ok(rows.length > 0);
  assert.deepEqual(got.sort(), [...want].sort(), 'the same reports per navigation URL');
  for (const l of lib) {
    const a = agent.find((r) => key(r.name, r.navigation_type, r.url) === key(l.name, l.navigationType, l.navigationURL));
    // After a bfcache restore FCP and LCP are "now" in a double-rAF callback:
    // the libraries' callbacks of one frame run one after another (as in
    // agent-compare.mjs; METRICS.md, deviations). Here web-vitals also handles
    // the soft navigation's state in that frame: on a loaded machine (4 test
    // runs on 2 cores) its LCP came 6.9 ms after the agent's reading, so 10 ms
    // here — still below the one frame (16.7 ms; 24 ms measured) by which a
    // single-rAF agent differs.
    const frameTimed = l.navigationType === 'back-forward-cache' && (l.name === 'FCP' || l.name === 'LCP');
    const tol = l.name === 'CLS' ? 1e-4 : frameTimed ? 10 : 1;
    assert.ok(Math.abs(a.value - l.value) <= tol, `${key(l.name, l.navigationType, l.navigationURL)}: agent ${a.value} vs ${l.value}`);
    if (l.rating) assert.equal(a.rating, l.rating, `${key(l.name, l.navigationType, l.navigationURL)} rating`);
  }
  return { want, agent };
}

test('two soft navigations: each gets its own metrics and URL', async (t) => {
  const k = uniqueSite('softnav2');
  const p = await browser.newPage();
  await p.goto(`${site.origin}/agent-softnav.html?site=${k}`);
  await sleep(600);
  await p.click('#slow');
  await sleep(400);
  await p.click('#go');
  await sleep(1200);
  await p.click('#buy');
  await sleep(500);
  await p.click('#cart');
  await p.waitForFunction(() => performance.getEntriesByType('soft-navigation').length === 2, null, { timeout: 5000 });
  await sleep(800);
  // A slow interaction on the second route dominates its INP (whichever side
  // of the boundary the cart click itself lands on).
  await p.click('#slow');
  await sleep(500);
  await p.goto('about:blank');
  await p.close();
  const { want, agent } = await matchPerUrl(t, k, (lib) => lib.filter((b) => b.name === 'INP' && b.navigationType === 'soft-navigation').length >= 2);
  for (const u of ['/products', '/cart']) {
    for (const n of ['TTFB', 'FCP', 'LCP', 'CLS', 'INP']) assert.ok(want.some((w) => w.startsWith(`${n} soft-navigation ${u}`)), `${n} for ${u}`);
  }
  assert.equal(new Set(agent.map((r) => r.page_view_id)).size, 3, 'landing page + two soft navigations');
});

test('a bfcache restore after a soft navigation: new metrics filed under the soft navigation\'s URL', async (t) => {
  // bfcache on (see agent-bfcache.test.mjs) and soft navigations on.
  const b = await launchBrowser({ ignoreDefaultArgs: ['--disable-back-forward-cache'] }, [SOFT_NAV_FLAG]);
  try {
    const k = uniqueSite('softnavbf');
    const p = await b.newPage();
    await p.goto(`${site.origin}/agent-softnav.html?site=${k}&cacheable`);
    await sleep(600);
    await p.click('#go');
    await p.waitForFunction(() => performance.getEntriesByType('soft-navigation').length === 1, null, { timeout: 5000 });
    await sleep(1200);
    await returnViaBfcache(p, `${site.origin}/plain.html`);
    await sleep(300);
    await p.click('#buy');
    await sleep(500);
    await p.goto('about:blank');
    await p.close();
    const { want, agent } = await matchPerUrl(t, k, (lib) => lib.some((r) => r.name === 'INP' && r.navigationType === 'back-forward-cache'));
    for (const n of ['FCP', 'LCP', 'CLS', 'TTFB', 'INP']) {
      assert.ok(want.includes(`${n} back-forward-cache /products`), `${n} after the restore, under /products`);
    }
    assert.equal(new Set(agent.map((r) => r.page_view_id)).size, 3, 'landing page, soft navigation, restore');
  } finally {
    await b.close();
  }
});

test('a soft navigation starts a new set of metrics, like web-vitals reportSoftNavs', (t) => softNavMatches(t, ''));

test('npm init({ softNavs: true }) reports soft navigations too', (t) => softNavMatches(t, '&npm'));

test('a soft navigation whose LCP is a late image: same value and attribution as web-vitals', (t) => softNavMatches(t, '&image'));

async function softNavMatches(t, query) {
  const k = await run(query);
  const { lib, agent } = await compareWith({ site, collector }, k, hard, {
    extra: (m) => {
      for (const n of ['TTFB', 'FCP', 'LCP', 'CLS', 'INP']) {
        const soft = m[`${n}/soft-navigation`];
        assert.ok(soft, `${n} reported for the soft navigation`);
        assert.match(soft.lib.navigationURL, /\/products\?site=/, 'web-vitals attributes it to the new URL');
        assert.equal(soft.agent.url, soft.lib.navigationURL, `${n}: the soft navigation's URL`);
        assert.equal(soft.agent.path, '/products');
        const landing = m[`${n}/navigate`];
        assert.equal(landing.agent.url, landing.lib.navigationURL, `${n}: the landing page's URL`);
        assert.notEqual(soft.agent.page_view_id, landing.agent.page_view_id, 'a new page view id');
      }
      assert.equal(m['TTFB/soft-navigation'].agent.value, 0);
      assert.ok(m['CLS/soft-navigation'].lib.value > 0, 'a shift on the new route');
      assert.ok(m['INP/soft-navigation'].lib.value >= 100, 'the slow click on the new route');
      // The later, larger paint of the same interaction (not the first paint);
      // compareWith has checked target, url and load phases against web-vitals.
      const lcp = m['LCP/soft-navigation'];
      const image = query.includes('&image');
      const attr = lcp.agent.attribution;
      assert.equal(attr.target, image ? '#hero-img' : '#hero');
      if (image) assert.match(attr.url, /\/hero\.png\?delay=300$/, 'the image is the resource');
      assert.ok(lcp.lib.value >= (image ? 550 : 250) && lcp.lib.value > m['FCP/soft-navigation'].lib.value);
    },
  });
  const row = (name, nav, v) => `${name}/${nav}=${Math.round(v * 1e4) / 1e4}`;
  t.diagnostic(`web-vitals: ${lib.map((r) => row(r.name, r.navigationType, r.value)).join(' ')}`);
  t.diagnostic(`agent:      ${agent.map((r) => row(r.name, r.navigation_type, r.value)).join(' ')}`);
}

test('without data-soft-navs the agent sends no soft-navigation metrics', async () => {
  const k = await run('&nosoft');
  // The reference library did see the soft navigation …
  let lib = [];
  for (let i = 0; i < 50 && !lib.some((b) => b.navigationType === 'soft-navigation'); i++) {
    await sleep(100);
    lib = site.beacons.filter((b) => b.site === k);
  }
  assert.ok(lib.some((b) => b.navigationType === 'soft-navigation'), 'web-vitals reported the soft navigation');
  // … the agent reported the landing page as before, and nothing else.
  const rows = await collector.waitFor(k, (rs) => ['FCP', 'LCP', 'CLS', 'INP'].every((n) => rs.some((r) => r.name === n)));
  await sleep(500);
  const all = await collector.metrics(k);
  assert.ok(rows.length > 0 && all.length >= rows.length);
  assert.deepEqual([...new Set(all.map((r) => r.navigation_type))], ['navigate']);
  assert.equal(new Set(all.map((r) => r.page_view_id)).size, 1, 'one page view');
});

test('with data-soft-navs in a browser without soft-navigation entries, nothing changes', async () => {
  // Chromium 156 ships soft-navigation entries by default and no switch turns
  // them off, so this browser hides the entry type from feature detection, the
  // only thing both the agent and web-vitals look at before observing it.
  const plain = await launchBrowser();
  await plain.addInitScript(() => {
    const all = PerformanceObserver.supportedEntryTypes;
    Object.defineProperty(PerformanceObserver, 'supportedEntryTypes', {
      get: () => all.filter((t) => t !== 'soft-navigation'),
    });
  });
  try {
    const k = await run('', plain);
    // web-vitals (reportSoftNavs on) and the agent (data-soft-navs) both report the landing page only.
    const { agent } = await compareWith({ site, collector }, k, hard);
    assert.deepEqual([...new Set(agent.map((r) => r.navigation_type))], ['navigate']);
    assert.equal(new Set(agent.map((r) => r.page_view_id)).size, 1, 'one page view');
  } finally {
    await plain.close();
  }
});
