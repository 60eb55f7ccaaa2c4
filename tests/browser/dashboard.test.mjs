// The dashboard in real Chromium: renders stored data, and hostile beacon
// values (selectors, URLs) appear as text with no script executed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startCollector, launchBrowser, uniqueSite, ensureArtifacts } from './harness.mjs';

let collector, browser;
before(async () => {
  collector = await startCollector();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await collector?.stop();
});

const hostile = '"><img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';

test('hostile beacon values are shown as text and never executed', async () => {
  const key = uniqueSite('xss');
  const beacon = {
    v: 1, site: key, page_view_id: 'pvxss000000001', seq: 0,
    url: `https://shop.example/p?q=${encodeURIComponent(hostile)}&raw="><svg onload=alert(1)>`,
    navigation_type: 'navigate', sample_rate: 1,
    metrics: [
      { name: 'LCP', id: 'v1-1-1', value: 3100, attribution: { target: hostile, url: hostile } },
      { name: 'CLS', id: 'v1-1-2', value: 0.02 },
    ],
  };
  const r = await fetch(`${collector.origin}/v1/ingest`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(beacon) });
  assert.equal(r.status, 202);
  await collector.waitFor(key, (rows) => rows.length === 2);

  const page = await browser.newPage();
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  await page.goto(`${collector.origin}/sites/${key}`);
  const cards = await page.locator('#verdict .card').count();
  assert.equal(cards, 5, 'one card per budgeted metric');
  const lcpCard = await page.locator('#verdict .card[data-metric="LCP"]').innerText();
  assert.match(lcpCard, /3100 ms/);
  const tableText = await page.locator('#recent').innerText();
  assert.ok(tableText.includes('<script>window.__xss=2</script>'), 'hostile selector shown as text');
  assert.equal(await page.locator('#recent img, #recent script, #recent svg').count(), 0, 'no injected elements');
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'no injected script ran');
  assert.deepEqual(dialogs, []);
  await page.screenshot({ path: path.join(ensureArtifacts(), 'dashboard-hostile.png'), fullPage: true });
  await page.close();
});
