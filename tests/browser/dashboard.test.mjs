// The dashboard in real Chromium: renders stored data, and hostile beacon
// values (selectors, URLs) appear as text with no script executed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
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
    route: `/${hostile}`,
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
  assert.equal(cards, 6, 'one card per budgeted metric');
  const lcpCard = await page.locator('#verdict .card[data-metric="LCP"]').innerText();
  assert.match(lcpCard, /3100 ms/);
  const tableText = await page.locator('#recent').innerText();
  assert.ok(tableText.includes('<script>window.__xss=2</script>'), 'hostile selector shown as text');
  assert.equal(await page.locator('#recent img, #recent script, #recent svg').count(), 0, 'no injected elements');
  // The declared route reaches the rollups and the worst-routes table as text too.
  const routes = await page.locator('#worst-routes').innerText();
  assert.ok(routes.includes('<script>window.__xss=2</script>'), `hostile route shown as text: ${routes}`);
  assert.equal(await page.locator('#worst-routes img, #worst-routes script, #worst-routes svg, body > img, body script').count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'no injected script ran');
  assert.deepEqual(dialogs, []);
  await page.screenshot({ path: path.join(ensureArtifacts(), 'dashboard-hostile.png'), fullPage: true });
  await page.close();
});

test('seeded traffic renders trends, distributions, worst routes and breakdowns', async () => {
  const key = uniqueSite('seeded');
  // The real seed-demo command, writing through the same storage and triggers as ingest.
  execFileSync(process.env.COLLECTOR_BIN, ['seed-demo', '--rows', '20000', '--days', '30', '--sites', key], {
    env: { ...process.env, DATABASE_URL: collector.databaseUrl, RUST_LOG: 'warn' },
    stdio: 'inherit',
  });
  const page = await browser.newPage();
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  await page.goto(`${collector.origin}/sites/${key}`);
  assert.equal(await page.locator('#verdict .card').count(), 6);
  // One chart per metric with data, each a p75 line over ~30 days and a reference line.
  for (const m of ['LCP', 'INP', 'CLS', 'FCP', 'TTFB']) {
    const chart = page.locator(`#trends svg.chart[data-metric="${m}"]`);
    assert.equal(await chart.count(), 1, `chart for ${m}`);
    const points = (await chart.locator('polyline.p75').getAttribute('points')).trim().split(/\s+/);
    assert.ok(points.length >= 28, `${m}: ${points.length} daily points`);
    assert.equal(await chart.locator('line.budget-line').count(), 1, `${m} reference line`);
  }
  const lcpBudget = await page.locator('#trends svg.chart[data-metric="LCP"] line.budget-line').getAttribute('data-value');
  assert.equal(Number(lcpBudget), 2500);
  // CrUX-style bars: three segments whose widths add up to 100 %.
  const bars = page.locator('#distribution .dist');
  assert.ok(await bars.count() >= 5);
  const widths = await bars.first().locator('span').evaluateAll((els) => els.map((e) => parseFloat(e.style.width)));
  assert.equal(widths.length, 3);
  assert.ok(Math.abs(widths.reduce((a, b) => a + b, 0) - 100) < 0.5, `${widths}`);
  const routes = await page.locator('#worst-routes tbody tr').count();
  assert.ok(routes >= 5, `worst routes: ${routes}`);
  const firstRoute = await page.locator('#worst-routes tbody tr td').first().innerText();
  assert.equal(firstRoute, '/checkout', 'the slowest seeded route comes first');
  const devices = await page.locator('#by-device').innerText();
  for (const d of ['desktop', 'phone', 'tablet']) assert.ok(devices.includes(d), d);
  const engines = await page.locator('#by-engine').innerText();
  for (const e of ['Blink', 'WebKit', 'Gecko']) assert.ok(engines.includes(e), e);
  assert.equal(await page.locator('#alerts').count(), 1);
  assert.equal(await page.locator('script').count(), 0, 'the dashboard runs no script');
  assert.deepEqual(dialogs, []);
  await page.screenshot({ path: path.join(ensureArtifacts(), 'dashboard-seeded.png'), fullPage: true });
  // Phone width: nothing wider than the viewport except inside scroll containers.
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `page overflows a phone screen by ${overflow}px`);
  await page.screenshot({ path: path.join(ensureArtifacts(), 'dashboard-seeded-phone.png'), fullPage: true });
  await page.close();
});
