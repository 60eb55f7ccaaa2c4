// SPA soft navigations (opt-in `data-soft-navs`), compared with web-vitals
// 6.2.3 `reportSoftNavs: true` in the same page load. Chromium 156 emits
// `soft-navigation` entries by default; 148 only with
// --enable-features=SoftNavigationHeuristics, so this file launches its own
// browser with that switch; on 148 the page maps Chromium's pre-launch entry
// shape to the one web-vitals checks for (pages/agent-softnav-shim.js).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector, startSite, launchBrowser, uniqueSite, sleep, returnViaBfcache, pageErrors } from './harness.mjs';
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

/** Opens the soft-navigation page as site `k` (`query` appended), collecting its page errors. */
async function open(b, k, query = '') {
  const p = await b.newPage();
  const errors = pageErrors(p);
  await p.goto(`${site.origin}/agent-softnav.html?site=${k}${query}`);
  return { p, errors };
}

/**
 * Leaves the page (a real pagehide + hidden) and asserts it threw nothing. The
 * tab stays open: a page left for the bfcache runs its pagehide and hidden
 * handlers after the next page commits, and closing the tab at once lost the
 * final reports of both the agent and web-vitals (2 runs in 60 of the bfcache
 * test on a loaded machine). The browser's closing check still sees its errors.
 */
async function leave({ p, errors }) {
  await p.goto('about:blank');
  assert.deepEqual(errors, [], 'no page errors');
}

/** Landing route, a slow click, a soft navigation, a shift and a slow click on the new route; then leave. */
async function run(query = '', b = browser) {
  const k = uniqueSite('softnav');
  const page = await open(b, k, query);
  const { p } = page;
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
  await leave(page);
  return k;
}

const hard = ['FCP', 'LCP', 'CLS', 'TTFB', 'FID', 'INP'];
const soft = ['TTFB', 'FCP', 'LCP', 'CLS', 'INP'];
const compare = (...args) => compareWith({ site, collector }, ...args);

test('two soft navigations: each gets its own metrics and URL', async () => {
  const k = uniqueSite('softnav2');
  const page = await open(browser, k);
  const { p } = page;
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
  await leave(page);
  const { agent } = await compare(k, hard, {
    ready: (lib) => lib.filter((b) => b.name === 'INP' && b.navigationType === 'soft-navigation').length >= 2,
    extra: (m) => {
      for (const u of ['/products', '/cart']) {
        for (const n of soft) {
          const pair = m[`${n}/soft-navigation ${u}`];
          assert.ok(pair, `${n} for ${u}`);
          assert.equal(pair.agent.url, pair.lib.navigationURL, `${n} for ${u}: the soft navigation's URL`);
        }
      }
    },
  });
  assert.equal(new Set(agent.map((r) => r.page_view_id)).size, 3, 'landing page + two soft navigations');
});

test('a bfcache restore after a soft navigation: new metrics filed under the soft navigation\'s URL', async (t) => {
  // bfcache on (see agent-bfcache.test.mjs) and soft navigations on.
  const b = await launchBrowser({ ignoreDefaultArgs: ['--disable-back-forward-cache'] }, [SOFT_NAV_FLAG]);
  try {
    const k = uniqueSite('softnavbf');
    const page = await open(b, k, '&cacheable');
    const { p } = page;
    await sleep(600);
    await p.click('#go');
    await p.waitForFunction(() => performance.getEntriesByType('soft-navigation').length === 1, null, { timeout: 5000 });
    await sleep(1200);
    await returnViaBfcache(p, `${site.origin}/plain.html`);
    await sleep(300);
    await p.click('#buy');
    await sleep(500);
    await leave(page);
    // Here web-vitals also handles the soft navigation's state in the restore's
    // frame: on a loaded machine (load average up to 7 on 2 cores) 2 runs in
    // 66 had its FCP and LCP 4.5 / 4.7 and 5.2 / 5.5 ms after the agent's
    // reading (the rest within 0.8 ms), and one run earlier 6.9 ms. So 10 ms,
    // not 5: still below the one frame (16.7 ms; 24 ms measured) by which a
    // single-rAF agent differs.
    const { agent, pairs } = await compare(k, soft, {
      frameTolerance: 10,
      // INP comes at the click (reportAllChanges), CLS only once the page is
      // hidden: a run on a loaded machine compared before that CLS arrived.
      ready: (lib) => ['INP', 'CLS'].every((n) => lib.some((r) => r.name === n && r.navigationType === 'back-forward-cache')),
      extra: (m) => {
        for (const n of soft) {
          const pair = m[`${n}/back-forward-cache /products`];
          assert.ok(pair, `${n} after the restore, under /products`);
          assert.equal(pair.agent.url, pair.lib.navigationURL, `${n} after the restore: the soft navigation's URL`);
        }
      },
    });
    // The frame-timed gaps, for the record.
    const gaps = pairs.filter(([l]) => l.navigationType === 'back-forward-cache' && ['FCP', 'LCP'].includes(l.name));
    t.diagnostic(`bfcache FCP/LCP agent − web-vitals: ${gaps.map(([l, a]) => `${l.name} ${(a.value - l.value).toFixed(1)} ms`).join(', ')}`);
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
  const { lib, agent } = await compare(k, hard, {
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
      // compare has checked target, url and load phases against web-vitals.
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
    const { agent } = await compare(k, hard);
    assert.deepEqual([...new Set(agent.map((r) => r.navigation_type))], ['navigate']);
    assert.equal(new Set(agent.map((r) => r.page_view_id)).size, 1, 'one page view');
  } finally {
    await plain.close();
  }
});
