// The dashboard in real Chromium: renders stored data, and hostile beacon
// values (selectors, URLs) appear as text with no script executed; the demo's
// story (filters on every panel, releases, the compare view agreeing with
// `check --format json`), error pages, and the login flow.
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
      { name: 'LCP', id: 'v1-1-1', value: 3100, attribution: { target: hostile, url: hostile, timeToFirstByte: 123.4 } },
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
  // Attribution as readable fields, not raw JSON; hostile keys and values are text.
  const attr = page.locator('#recent tr', { hasText: 'LCP' }).locator('dl.attr');
  const labels = await attr.locator('dt').allInnerTexts();
  for (const l of ['element', 'URL', 'TTFB phase']) assert.ok(labels.includes(l), `${l} in ${labels}`);
  const values = await attr.locator('dd').allInnerTexts();
  assert.ok(values.includes(hostile) && values.includes('123 ms'), `${values}`);
  assert.ok(!tableText.includes('{"'), 'no raw JSON');
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
    const points = (await chart.locator('polyline.p75:not(.partial)').getAttribute('points')).trim().split(/\s+/);
    assert.ok(points.length >= 28, `${m}: ${points.length} daily points`);
    assert.equal(await chart.locator('line.good-line').count(), 1, `${m} "good" line`);
    assert.equal(await chart.locator('line.budget-line').count(), m === 'TTFB' ? 0 : 1, `${m} budget line (TTFB has no budget)`);
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

/** Runs the CLI on a collector's database; returns its parsed JSON output. */
function checkJson(databaseUrl, args) {
  let out;
  try {
    out = execFileSync(process.env.COLLECTOR_BIN, ['check', ...args, '--format', 'json', '--min-samples', '1'], {
      env: { ...process.env, DATABASE_URL: databaseUrl, RUST_LOG: 'error' },
    });
  } catch (e) {
    // Exit 1 (a regression) still prints the report.
    if (e.status !== 1) throw e;
    out = e.stdout;
  }
  return JSON.parse(out.toString());
}

test('the demo story: every panel follows the filters, releases are marked and compared as check does', async () => {
  const demo = await startCollector({ STRRAY_ALERT_INTERVAL_SECS: '0' });
  try {
    execFileSync(process.env.COLLECTOR_BIN, ['seed-demo', '--rows', '16000', '--days', '30', '--sites', 'shop,docs'], {
      env: { ...process.env, DATABASE_URL: demo.databaseUrl, RUST_LOG: 'warn' },
      stdio: 'inherit',
    });
    const page = await browser.newPage();
    await page.setViewportSize({ width: 1400, height: 900 });

    // Root page: every site with its status and sample count.
    await page.goto(`${demo.origin}/`);
    for (const s of ['shop', 'docs']) {
      const li = page.locator(`#sites li[data-site="${s}"]`);
      assert.equal(await li.count(), 1, s);
      assert.ok(Number(await li.getAttribute('data-samples')) > 100, s);
      assert.match(await li.getAttribute('data-status'), /^(pass|warning|error|critical)$/);
    }
    assert.equal(await page.locator('#sites li[data-site="docs"]').getAttribute('data-status'), 'pass', 'docs is the healthy site');

    // Unfiltered: release markers on the time series and today's partial day.
    await page.goto(`${demo.origin}/sites/shop?days=30`);
    const options = await page.locator('#releases .release-option').evaluateAll((els) => els.map((e) => e.dataset.release));
    for (const r of ['2026.11.1', '2026.11.2', '2026.11.3']) assert.ok(options.includes(r), `release selector offers ${r}: ${options}`);
    const lcpChart = page.locator('#trends svg.chart[data-metric="LCP"]');
    for (const r of ['2026.11.2', '2026.11.3']) {
      assert.equal(await lcpChart.locator(`g.release-marker[data-release="${r}"]`).count(), 1, `marker for ${r}`);
    }
    assert.equal(await lcpChart.locator('circle.pt.partial').count(), 1, 'today is marked as partial');
    assert.ok(await lcpChart.locator('text.y-tick').count() >= 3, 'y ticks');
    assert.ok(await lcpChart.locator('text.x-tick').count() >= 3, 'x ticks');
    assert.ok(await lcpChart.locator('line.grid').count() >= 6, 'gridlines');
    // Budget and "good" lines differ in colour and dash, and are labelled outside the plot.
    const style = (sel) => lcpChart.locator(sel).evaluate((e) => { const c = getComputedStyle(e); return `${c.stroke} ${c.strokeDasharray}`; });
    assert.notEqual(await style('line.budget-line'), await style('line.good-line'));
    const refs = await page.locator('#trends .chart-refs').first().innerText();
    assert.match(refs, /budget 2500 ms/);
    assert.match(refs, /good ≤ 2500 ms/);
    assert.equal(await lcpChart.locator('text', { hasText: 'budget' }).count(), 0, 'no label drawn over the data');
    const allSamples = Number((await page.locator('#verdict .card[data-metric="LCP"]').innerText()).match(/(\d+) samples/)[1]);
    const allDevices = await page.locator('#by-device tbody tr').count();

    // Filtered: phone, release 2026.11.3, 7 days → cards, tables, latest rows all follow.
    await page.goto(`${demo.origin}/sites/shop?days=7&form_factor=phone&release=2026.11.3`);
    assert.match(await page.locator('h1 + p').innerText(), /last 7 days · phone, release 2026\.11\.3/);
    const phoneSamples = Number((await page.locator('#verdict .card[data-metric="LCP"]').innerText()).match(/(\d+) samples/)[1]);
    assert.ok(phoneSamples > 0 && phoneSamples < allSamples / 2, `cards follow the filter: ${phoneSamples} of ${allSamples}`);
    assert.equal(await page.locator('#by-device tbody tr').count(), 1, `only phones (of ${allDevices} devices)`);
    assert.match(await page.locator('#by-device tbody tr td').first().innerText(), /phone/);
    const devices = await page.locator('#recent tbody tr td:nth-child(7)').allInnerTexts();
    assert.ok(devices.length > 0 && devices.every((d) => d.startsWith('phone')), `latest metrics follow the filter: ${devices}`);
    const points = (await page.locator('#trends svg.chart[data-metric="LCP"] polyline.p75').first().getAttribute('points')).trim().split(/\s+/);
    assert.ok(points.length <= 8, `7 days of points: ${points.length}`);
    assert.match(await page.locator('#alerts').innerText(), /No alerts/);

    // Compare view: 2026.11.3 against the release before it, as `check` computes it.
    const rows = page.locator('#compare tbody tr');
    assert.equal(await page.locator('#compare').getAttribute('data-baseline'), '2026.11.2');
    const cli = checkJson(demo.databaseUrl, ['--site', 'shop', '--release', '2026.11.3', '--baseline-release', '2026.11.2']);
    assert.equal(await rows.count(), cli.regression.metrics.length);
    for (const m of cli.regression.metrics) {
      const row = page.locator(`#compare tbody tr[data-metric="${m.metric}"]`);
      assert.equal(Number(await row.getAttribute('data-baseline')), m.baseline, `${m.metric} baseline`);
      assert.equal(Number(await row.getAttribute('data-current')), m.current, `${m.metric} current`);
      assert.equal(Number(await row.getAttribute('data-change')), m.change, `${m.metric} change`);
      assert.equal(await row.getAttribute('data-status'), m.status, `${m.metric} status`);
    }
    assert.equal(await page.locator('#compare tbody tr[data-metric="LCP"]').getAttribute('data-status'), 'regressed', 'the regression is visible');
    await page.screenshot({ path: path.join(ensureArtifacts(), 'dashboard-story-1400.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `page overflows a phone screen by ${overflow}px`);
    await page.screenshot({ path: path.join(ensureArtifacts(), 'dashboard-story-390.png'), fullPage: true });

    // Error pages are pages, in the dashboard's style.
    await page.setViewportSize({ width: 1400, height: 900 });
    let resp = await page.goto(`${demo.origin}/sites/nosuch`);
    assert.equal(resp.status(), 404);
    assert.match(await page.locator('h1').innerText(), /404/);
    resp = await page.goto(`${demo.origin}/sites/shop?days=500`);
    assert.equal(resp.status(), 400);
    assert.match(await page.locator('h1').innerText(), /400/);
    assert.match(await page.locator('.error-message').innerText(), /days: 500/);
    assert.equal(await page.locator('a[href="/"]').count(), 1, 'a way back');
    await page.close();
  } finally {
    await demo.stop();
  }
});

test('with a read token the dashboard needs a login; the session cookie is strict and logout works', async () => {
  const token = 'browser-test-token';
  const priv = await startCollector({ STRRAY_READ_TOKEN: token });
  try {
    const key = uniqueSite('login');
    const beacon = { v: 1, site: key, page_view_id: 'pvlogin0000001', seq: 0, url: 'https://shop.example/', navigation_type: 'navigate', sample_rate: 1, metrics: [{ name: 'LCP', id: 'v1-1-1', value: 1000 }] };
    assert.equal((await fetch(`${priv.origin}/v1/ingest`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(beacon) })).status, 202);
    for (let i = 0; i < 100; i++) {
      const r = await fetch(`${priv.origin}/v1/sites/${key}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      if ((await r.json()).length) break;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    assert.equal((await fetch(`${priv.origin}/v1/sites/${key}/metrics`)).status, 401, 'the API needs the token');
    const page = await browser.newPage();
    await page.goto(`${priv.origin}/sites/${key}?days=7`);
    assert.match(page.url(), /\/login\?next=/, 'sent to the login form');
    await page.fill('input[name=token]', 'wrong');
    const wrong = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.equal(wrong[0].status(), 401);
    assert.match(await page.locator('.error-message').innerText(), /Wrong read token/);
    await page.fill('input[name=token]', token);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.equal(new URL(page.url()).pathname, `/sites/${key}`, 'back to the page asked for');
    assert.match(await page.locator('h1').innerText(), new RegExp(`Site ${key}`));
    const cookie = (await page.context().cookies(priv.origin)).find((c) => c.name === 'strray_session');
    assert.ok(cookie, 'session cookie set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '', 'no script can read it');
    await Promise.all([page.waitForNavigation(), page.click('form.logout button')]);
    assert.match(page.url(), /\/login/);
    await page.goto(`${priv.origin}/sites/${key}`);
    assert.match(page.url(), /\/login\?next=/, 'logged out');
    await page.close();
  } finally {
    await priv.stop();
  }
});
