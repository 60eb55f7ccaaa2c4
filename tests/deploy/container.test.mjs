// The collector image run the way operators run it, against the test
// PostgreSQL: migrate as an init step, pass the image's HEALTHCHECK, take a
// beacon from headless Chromium through the script tag it serves, answer the
// verdict, and on SIGTERM under load drain its queue and exit 0 with every
// accepted beacon stored. Run by `cargo xtask deploy-test`, which builds the
// image and provides the environment below.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { startSite, launchBrowser, uniqueSite, sleep } from '../browser/harness.mjs';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; run through \`cargo xtask deploy-test\``);
  return v;
}

const image = need('STRRAY_IMAGE');
// Global podman options (OCI runtime) and per-container ones (network, ulimits).
const podmanArgs = JSON.parse(need('STRRAY_PODMAN_ARGS'));
const runArgs = JSON.parse(need('STRRAY_PODMAN_RUN_ARGS'));
const adminUrl = need('DATABASE_URL'); // host side
const pgHostFromContainer = need('STRRAY_PG_HOST_FROM_CONTAINER');
const hostPort = Number(need('STRRAY_HOST_PORT'));
const loadPort = Number(need('STRRAY_HOST_PORT_LOAD'));
const name = `strray-deploy-test-${process.pid}`;

const podman = (args, opts = {}) =>
  execFileSync('podman', [...podmanArgs, ...args], { encoding: 'utf8', ...opts });
const psql = (url, sql) => execFileSync('psql', [url, '-tAq', '-c', sql], { encoding: 'utf8' }).trim();

let dbHost, dbContainer, site, browser;
const origin = `http://127.0.0.1:${hostPort}`;

before(() => {
  const db = `deploy_${process.pid}`;
  psql(adminUrl, `CREATE DATABASE ${db}`);
  dbHost = adminUrl.replace(/\/[^/]*$/, `/${db}`);
  const u = new URL(dbHost);
  u.hostname = pgHostFromContainer;
  dbContainer = u.toString();
});

after(async () => {
  await browser?.close();
  await site?.close();
  try { podman(['rm', '-f', '-t', '0', name], { stdio: 'ignore' }); } catch {}
});

test('`migrate` as an init step creates the schema in PostgreSQL', () => {
  podman(['run', '--rm', ...runArgs, '-e', `DATABASE_URL=${dbContainer}`, image, 'migrate'], { stdio: 'inherit' });
  const applied = Number(psql(dbHost, 'SELECT count(*) FROM _sqlx_migrations WHERE success'));
  assert.ok(applied > 0, `migrations applied: ${applied}`);
  assert.equal(psql(dbHost, "SELECT to_regclass('metric') IS NOT NULL"), 't');
});

test('the container passes its HEALTHCHECK', async () => {
  podman([
    'run', '-d', '--name', name, ...runArgs,
    '-p', `127.0.0.1:${hostPort}:8787`,
    '-e', `DATABASE_URL=${dbContainer}`,
    '-e', 'STRRAY_MIN_SAMPLES=1',
    '-e', 'STRRAY_RATE_LIMIT_CLIENT=0',
    '-e', 'STRRAY_RATE_LIMIT_SITE=0',
    '-e', 'STRRAY_SHUTDOWN_GRACE_SECS=20',
    '-e', 'STRRAY_LOG_FORMAT=json',
    '-e', 'RUST_LOG=info',
    image,
  ]);
  // The image's own HEALTHCHECK command, run as the runtime would run it.
  let healthy = false;
  for (let i = 0; i < 120 && !healthy; i++) {
    try { podman(['healthcheck', 'run', name], { stdio: 'ignore' }); healthy = true; } catch { await sleep(500); }
  }
  assert.ok(healthy, `healthcheck never passed; logs:\n${podman(['logs', name])}`);
  const status = podman(['inspect', '--format', '{{.State.Health.Status}}', name]).trim();
  assert.equal(status, 'healthy');
  // Published port → 0.0.0.0 inside the container.
  const r = await fetch(`${origin}/readyz`);
  assert.equal(r.status, 200);
  assert.equal((await r.json()).backend, 'postgres');
});

test('a beacon from headless Chromium through the served script tag is stored, and the verdict answers', async () => {
  site = await startSite(origin);
  browser = await launchBrowser();
  const key = uniqueSite('deploy');
  const page = await browser.newPage();
  await page.goto(`${site.origin}/index.html?site=${key}`);
  await page.waitForFunction(() => document.getElementById('hero').complete);
  await sleep(1000);
  await page.click('#buy');
  await page.waitForFunction(() => document.getElementById('status').textContent === 'Added!');
  // Ending the page's life makes the agent report.
  await page.goto('about:blank');
  let rows = [];
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${origin}/v1/sites/${key}/metrics?limit=100`);
    rows = r.ok ? await r.json() : [];
    if (['FCP', 'LCP', 'TTFB'].every((n) => rows.some((x) => x.name === n))) break;
    await sleep(200);
  }
  for (const n of ['FCP', 'LCP', 'TTFB']) assert.ok(rows.some((x) => x.name === n), `${n} stored; got ${rows.map((x) => x.name)}`);
  assert.equal(Number(psql(dbHost, `SELECT count(DISTINCT page_view_id) FROM metric WHERE site = '${key}'`)), 1);

  const v = await fetch(`${origin}/v1/sites/${key}/verdict`);
  assert.equal(v.status, 200);
  const verdict = await v.json();
  assert.equal(verdict.site, key);
  assert.ok(['pass', 'insufficient-data', 'warning', 'error', 'critical'].includes(verdict.status), verdict.status);
  // The LCP the browser sent is judged: one sample, a value, a severity.
  const lcp = verdict.metrics.find((m) => m.metric === 'LCP');
  assert.equal(lcp?.samples, 1, JSON.stringify(verdict));
  assert.ok(lcp.value > 0 && lcp.severity, JSON.stringify(lcp));
});

test('SIGTERM under load: the queue drains, exit 0, every accepted beacon stored', async () => {
  // A second container whose writer holds beacons back (10 s or 100 000 rows),
  // so at SIGTERM the queue holds every beacon accepted so far: only the
  // drain on the way out can store them (a batch still filling is written at
  // once on SIGTERM, whatever its interval).
  const loadName = `${name}-load`;
  podman([
    'run', '-d', '--name', loadName, ...runArgs,
    '-p', `127.0.0.1:${loadPort}:8787`,
    '-e', `DATABASE_URL=${dbContainer}`,
    '-e', 'STRRAY_RATE_LIMIT_CLIENT=0',
    '-e', 'STRRAY_RATE_LIMIT_SITE=0',
    '-e', 'STRRAY_BATCH_INTERVAL_MS=10000',
    '-e', 'STRRAY_BATCH_ROWS=100000',
    '-e', 'STRRAY_QUEUE_CAPACITY=50000',
    '-e', 'STRRAY_SHUTDOWN_GRACE_SECS=20',
    '-e', 'STRRAY_LOG_FORMAT=json',
    image,
  ]);
  const loadOrigin = `http://127.0.0.1:${loadPort}`;
  try {
    let up = false;
    for (let i = 0; i < 120 && !up; i++) {
      try { up = (await fetch(`${loadOrigin}/readyz`)).ok; } catch { await sleep(250); }
    }
    assert.ok(up, 'load container ready');
    const pid = podman(['inspect', '--format', '{{.State.Pid}}', loadName]).trim();
    const accepted = [];
    let refused = 0;
    let stopping = false;
    let n = 0;
    const beacon = (pv) => JSON.stringify({
      v: 1, site: 'load', page_view_id: pv, seq: 0, url: 'https://load.example/p', navigation_type: 'navigate',
      sample_rate: 1, sent_at: Date.now(),
      metrics: [
        { name: 'FCP', id: `v1-${Date.now()}-${pv}1`, value: 900, delta: 900, rating: 'good' },
        { name: 'LCP', id: `v1-${Date.now()}-${pv}2`, value: 1800, delta: 1800, rating: 'good' },
        { name: 'TTFB', id: `v1-${Date.now()}-${pv}3`, value: 120, delta: 120, rating: 'good' },
      ],
    });
    // Senders keep going until the collector stops answering.
    async function sender(w) {
      for (;;) {
        const pv = `w${w}n${n++}`;
        try {
          const r = await fetch(`${loadOrigin}/v1/ingest?site=load`, {
            method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: beacon(pv),
          });
          await r.arrayBuffer();
          if (r.status >= 200 && r.status < 300) accepted.push(pv); else refused++;
        } catch {
          if (stopping) return;
          refused++;
          await sleep(20);
        }
      }
    }
    const senders = Array.from({ length: 16 }, (_, w) => sender(w));
    await sleep(2500);
    const queued = accepted.length;
    const storedBefore = Number(psql(dbHost, "SELECT count(*) FROM metric WHERE site = 'load'"));
    // Peak RSS of the collector (the container's PID 1) so far: sizes the Kubernetes requests/limits.
    const hwm = execFileSync('grep', ['VmHWM', `/proc/${pid}/status`], { encoding: 'utf8' }).trim();
    stopping = true;
    // podman stop sends the image's STOPSIGNAL (SIGTERM) while the senders keep sending.
    const stop = spawn('podman', [...podmanArgs, 'stop', '-t', '90', loadName], { stdio: 'ignore' });
    const stopped = new Promise((r) => stop.once('exit', r));
    await Promise.all(senders);
    assert.equal(await stopped, 0, 'podman stop');
    const code = podman(['inspect', '--format', '{{.State.ExitCode}}', loadName]).trim();
    // `podman logs` replays the container's stderr on its own stderr.
    // Room for every access-log line of the load run (spawnSync's default 1 MiB
    // buffer cut the log, and with it the collector's last line, on a fast run).
    const l = spawnSync('podman', [...podmanArgs, 'logs', loadName], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
    const logs = `${l.stdout}${l.stderr}`;
    assert.equal(code, '0', `exit code; logs:\n${logs.slice(-3000)}`);
    // The collector's last line says what the drain left behind.
    assert.match(logs, /strray-collector stopped: rows_not_written=0\b/);
    assert.ok(queued > 100, `under load when stopped: ${queued} beacons accepted`);
    assert.ok(storedBefore < queued * 3, `beacons were still queued at SIGTERM (${storedBefore} rows stored of ${queued * 3})`);
    const stored = Number(psql(dbHost, "SELECT count(DISTINCT page_view_id) FROM metric WHERE site = 'load'"));
    const rows = Number(psql(dbHost, "SELECT count(*) FROM metric WHERE site = 'load'"));
    console.log(`DEPLOY accepted=${accepted.length} refused_or_failed=${refused} rows_stored_before_sigterm=${storedBefore} stored_page_views=${stored} rows=${rows} ${hwm.replace(/\s+/g, ' ')}`);
    assert.equal(stored, accepted.length, 'every accepted beacon is in PostgreSQL');
    assert.equal(rows, accepted.length * 3);
  } finally {
    try { podman(['rm', '-f', '-t', '0', loadName], { stdio: 'ignore' }); } catch {}
  }
});
