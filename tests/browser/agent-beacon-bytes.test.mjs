// A beacon stays below 16 KiB in UTF-8 bytes (vitals_core::wire::MAX_BEACON_BYTES),
// what the collector and the browser's beacon quota count, even when every
// string in it is at its longest and multibyte (pages/agent-big-beacon.html):
// the agent then drops the attribution and sends the rest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startCollector, startSite, launchBrowser, uniqueSite, sleep, pageErrors } from './harness.mjs';

const MAX_BEACON_BYTES = 16 * 1024;

let collector, relay, site, browser;

/**
 * Passes every request on to the collector unchanged and keeps the bodies of
 * ingest requests: the bytes the collector receives. (Playwright does not
 * show the beacon a page sends while it is being left.)
 */
async function startRelay(target) {
  const bodies = [];
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    if (req.url.startsWith('/v1/ingest')) bodies.push(body);
    const headers = { ...req.headers };
    delete headers.host;
    const r = await fetch(`${target}${req.url}`, { method: req.method, headers, body: chunks.length ? body : undefined });
    res.writeHead(r.status, Object.fromEntries(r.headers));
    res.end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${server.address().port}`, bodies, close: () => new Promise((r) => server.close(r)) };
}

before(async () => {
  collector = await startCollector();
  relay = await startRelay(collector.origin);
  site = await startSite(relay.origin);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await relay?.close();
  await collector?.stop();
});

test('a beacon of multibyte strings at every limit stays below 16 KiB in UTF-8 and is stored', async (t) => {
  const k = uniqueSite('bigbeacon');
  const p = await browser.newPage();
  const errors = pageErrors(p);
  // A page URL near the collector's 2 048-byte limit: "€" is 9 bytes percent-encoded.
  await p.goto(`${site.origin}/agent-big-beacon.html?site=${k}&pad=${'€'.repeat(215)}`);
  // The attribution strings the page makes the agent send: the selectors of
  // the LCP image, the shifted element and the button (FID and INP), and the
  // image's URL; each cut at 500 characters.
  const strings = await p.evaluate(() => {
    const [img] = document.images;
    const button = `#${document.querySelector('button').id}`;
    return [`#${img.id}`, img.src, `#${document.querySelector('main').id}`, button, button];
  });
  await sleep(800);
  await p.click('button');
  await sleep(500);
  await p.goto('about:blank');
  await p.close();
  assert.deepEqual(errors, [], 'no page errors');

  const rows = await collector.waitFor(k, (rs) => ['LCP', 'CLS', 'INP', 'FID'].every((n) => rs.some((r) => r.name === n)));
  const sent = relay.bodies.filter((b) => JSON.parse(b.toString('utf8')).site === k);
  assert.ok(sent.length > 0, 'the agent sent beacons');
  const bytes = sent.map((b) => b.length);
  t.diagnostic(`beacon bodies (UTF-8 bytes): ${bytes.join(', ')}`);
  for (const n of bytes) assert.ok(n < MAX_BEACON_BYTES, `a beacon of ${n} bytes (limit ${MAX_BEACON_BYTES})`);

  // The test's premise: with its attribution the last beacon would exceed the
  // limit; the attribution strings alone add more than the bytes left.
  const last = JSON.parse(sent.at(-1).toString('utf8'));
  assert.deepEqual(last.metrics.map((m) => m.name).filter((n) => ['LCP', 'CLS', 'FID', 'INP'].includes(n)).sort(), ['CLS', 'FID', 'INP', 'LCP']);
  const attributionBytes = strings.reduce((sum, s) => sum + Buffer.byteLength(JSON.stringify([...s].slice(0, 500).join(''))), 0);
  assert.ok(sent.at(-1).length + attributionBytes >= MAX_BEACON_BYTES, `${sent.at(-1).length} + ${attributionBytes} attribution bytes ≥ 16 KiB`);
  t.diagnostic(`without the cap ≥ ${sent.at(-1).length + attributionBytes} bytes`);

  // Sent without attribution, and stored: every metric of it, with the
  // multibyte route (the agent's 256 characters: "/" and 255 × 😀) and the
  // page's own URL.
  for (const m of last.metrics) {
    assert.equal(m.attribution, undefined, `${m.name}: attribution dropped to fit`);
    const row = rows.find((r) => r.metric_id === m.id);
    assert.ok(row, `${m.name} stored`);
    assert.equal(row.route, `/${'\u{1F600}'.repeat(255)}`);
    assert.match(row.url, /&pad=(%E2%82%AC){215}$/);
  }
});
