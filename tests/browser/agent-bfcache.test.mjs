// Back/forward-cache restore, compared with web-vitals in the same page.
// Playwright launches Chromium with --disable-back-forward-cache; this file
// drops that switch (headless Chromium then restores pages from the bfcache),
// and the page is served cacheable (`no-store` pages are not eligible).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector, startSite, launchBrowser, uniqueSite, sleep, returnViaBfcache } from './harness.mjs';
import { compare } from './agent-compare.mjs';

let collector, site, browser;

before(async () => {
  collector = await startCollector();
  site = await startSite(collector.origin);
  browser = await launchBrowser({ ignoreDefaultArgs: ['--disable-back-forward-cache'] });
});

after(async () => {
  await browser?.close();
  await site?.close();
  await collector?.stop();
});

test('a bfcache restore starts a new set of metrics (navigationType back-forward-cache)', async () => {
  const k = uniqueSite('bfcache');
  const p = await browser.newPage();
  await p.goto(`${site.origin}/agent-bfcache.html?site=${k}&cacheable`);
  await sleep(400);
  await p.click('#b');
  await sleep(400);
  await returnViaBfcache(p, `${site.origin}/agent-reload.html?site=${k}-other`);
  await sleep(300);
  await p.click('#b');
  await sleep(400);
  // The tab stays open until the comparison: a page left for the bfcache runs
  // its pagehide and hidden handlers after about:blank commits, and closing the
  // tab at once can lose the final reports (seen in the soft-navigation variant).
  await p.goto('about:blank');
  const names = ['FCP', 'LCP', 'CLS', 'TTFB', 'INP', 'FID'];
  await compare({ site, collector }, k, names, {
    // The restored page view's reports too (CLS only comes once it is hidden).
    ready: (lib) => names.every((n) => lib.some((r) => r.name === n && r.navigationType === 'back-forward-cache')),
    extra: (m) => {
      for (const n of names) {
        assert.ok(m[`${n}/back-forward-cache`], `${n} reported after the restore`);
      }
      assert.equal(m['TTFB/back-forward-cache'].agent.value, 0);
      assert.notEqual(m['FCP/back-forward-cache'].agent.page_view_id, m['FCP/navigate'].agent.page_view_id);
    },
  });
  await p.close();
});
