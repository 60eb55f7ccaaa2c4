// Shared browser-test harness: a real collector binary on a fresh PostgreSQL
// database, a static "customer site" on another origin, and Debian's Chromium
// driven by playwright-core. Nothing is mocked.
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { readFile, mkdtemp } from 'node:fs/promises';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { gzipSync } from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '..', '..');
export const artifacts = path.join(here, 'artifacts');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export { sleep };

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; run the browser tests through \`cargo xtask test\``);
  return v;
}

/** A fresh database on the test PostgreSQL server (psql from postgresql-client). */
function freshDatabase() {
  const admin = need('DATABASE_URL');
  const name = `b_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  execFileSync('psql', [admin, '-q', '-c', `CREATE DATABASE ${name}`], { stdio: 'inherit' });
  return admin.replace(/\/[^/]*$/, `/${name}`);
}

/**
 * Starts the real collector binary on port 0 and reads the address it bound
 * from its `strray-collector listening on …` stdout line (no port picked,
 * released and re-bound: no race with other processes); resolves once
 * /readyz answers 200. A collector that exits, never says where it listens or
 * never becomes ready throws, failing the test that started it.
 */
export async function startCollector(env = {}) {
  const databaseUrl = freshDatabase();
  const child = spawn(need('COLLECTOR_BIN'), [], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      STRRAY_BIND: '127.0.0.1:0',
      STRRAY_AGENT_DIR: need('STRRAY_AGENT_DIR'),
      STRRAY_BATCH_INTERVAL_MS: '20',
      STRRAY_MIN_SAMPLES: '1',
      RUST_LOG: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const origin = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('collector: no "listening on" line within 60 s')), 60000);
    let buf = '';
    child.once('exit', (code) => reject(new Error(`collector exited (${code}) before listening`)));
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      buf += chunk;
      const m = buf.match(/strray-collector listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  let ready = false;
  for (let i = 0; i < 400 && !ready; i++) {
    try {
      ready = (await fetch(`${origin}/readyz`)).ok;
    } catch {}
    if (!ready) await sleep(50);
  }
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`collector at ${origin} never answered /readyz 200 within 20 s`);
  }
  return {
    origin,
    databaseUrl,
    async metrics(site) {
      const r = await fetch(`${origin}/v1/sites/${site}/metrics?limit=1000`);
      if (!r.ok) throw new Error(`metrics: ${r.status}`);
      return r.json();
    },
    /** Polls until `predicate(rows)` holds or the timeout passes; returns the rows. */
    async waitFor(site, predicate, timeoutMs = 10000) {
      const end = Date.now() + timeoutMs;
      let rows = [];
      while (Date.now() < end) {
        rows = await this.metrics(site);
        if (predicate(rows)) return rows;
        await sleep(100);
      }
      return rows;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

const types = { '.html': 'text/html; charset=utf-8', '.png': 'image/png', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };
// Reference libraries the conformance pages load next to the agent (npm devDependencies).
const servedPackages = ['web-vitals', 'web-vitals-v4', 'tti-polyfill'];

/**
 * The customer's site: serves tests/browser/pages and web-demo. `?delay=ms`
 * delays a response; `{{COLLECTOR_ORIGIN}}` and `{{SITE}}` in HTML are filled in.
 * For the page-weight test: `?gzip` sends the file gzip-encoded, `?cache`
 * makes it cacheable for an hour, `?tao` adds `Timing-Allow-Origin: *`,
 * `?coi` makes a page cross-origin isolated (COOP same-origin, COEP require-corp).
 * `host` (default 127.0.0.1, shown as "localhost") picks the loopback address
 * to listen on: 127.0.0.2 is another host, i.e. a third party.
 */
export async function startSite(collectorOrigin, { host = '127.0.0.1' } = {}) {
  const dirs = [path.join(here, 'pages'), path.join(root, 'web-demo')];
  const beacons = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    // Conformance pages post the reference libraries' reports here (JSON body).
    if (req.method === 'POST' && url.pathname === '/__report') {
      let body = '';
      for await (const c of req) body += c;
      try { beacons.push(JSON.parse(body)); } catch {}
      res.writeHead(204).end();
      return;
    }
    const delay = Number(url.searchParams.get('delay') || 0);
    if (delay) await sleep(Math.min(delay, 10000));
    let rel = url.pathname === '/' ? '/index.html' : url.pathname;
    if (rel.includes('..')) { res.writeHead(400).end(); return; }
    // The real web-vitals library, as installed from npm (package.json).
    if (rel === '/vendor/web-vitals.iife.js') {
      const f = path.join(root, 'node_modules', 'web-vitals', 'dist', 'web-vitals.iife.js');
      res.writeHead(200, { 'content-type': types['.js'], 'cache-control': 'no-store' });
      res.end(await readFile(f));
      return;
    }
    const pkg = rel.startsWith('/node_modules/') && servedPackages.includes(rel.split('/')[2]);
    // The agent's npm package output (target/agent-dist/npm), for the npm usage test.
    const npm = rel.startsWith('/agent-npm/') && process.env.STRRAY_AGENT_DIR;
    for (const d of npm ? [path.join(process.env.STRRAY_AGENT_DIR, 'npm')] : pkg ? [root] : dirs) {
      const f = path.join(d, npm ? rel.slice('/agent-npm'.length) : rel);
      if (existsSync(f)) {
        let body = await readFile(f);
        const type = types[path.extname(f)] || 'application/octet-stream';
        if (type.startsWith('text/html')) {
          body = body.toString('utf8')
            .replaceAll('{{COLLECTOR_ORIGIN}}', collectorOrigin)
            .replaceAll('{{SITE}}', url.searchParams.get('site') || 'demo');
        }
        // `no-store` keeps pages out of the back/forward cache; `?cacheable` lets them in.
        const q = (k) => url.searchParams.has(k);
        const headers = { 'content-type': type, 'cache-control': q('cache') ? 'max-age=3600' : q('cacheable') ? 'max-age=0' : 'no-store' };
        if (q('tao')) headers['timing-allow-origin'] = '*';
        // Cross-origin isolation (COOP + COEP), for measureUserAgentSpecificMemory.
        if (q('coi')) Object.assign(headers, { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
        if (q('gzip')) {
          body = gzipSync(body, { level: 9 });
          headers['content-encoding'] = 'gzip';
        }
        res.writeHead(200, headers);
        res.end(body);
        return;
      }
    }
    res.writeHead(404).end('not found');
  });
  await new Promise((r) => server.listen(0, host, r));
  const { port } = server.address();
  return {
    // "localhost" vs the collector's 127.0.0.1: a different origin, as in production.
    origin: `http://${host === '127.0.0.1' ? 'localhost' : host}:${port}`,
    beacons,
    close: () => new Promise((r) => server.close(r)),
  };
}

/** Chromium switches of every browser test: quiet, deterministic, no sandbox (root in CI). */
export const chromiumSwitches = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/**
 * `options` are merged into playwright's launch options (e.g. `ignoreDefaultArgs`);
 * `extraArgs` are appended to the Chromium switches (e.g. feature flags).
 */
export async function launchBrowser(options = {}, extraArgs = []) {
  const dir = await mkdtemp(path.join(tmpdir(), 'strray-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [...chromiumSwitches, ...extraArgs],
    ...options,
  });
  // The agent must never throw into the page: every page of every browser
  // test counts its uncaught errors and unhandled promise rejections
  // (Playwright's `pageerror` reports both), and closing the browser fails
  // (the test file's after hook) unless there were none.
  const pageErrors = [];
  const watch = (p) => p.on('pageerror', (e) => pageErrors.push(`${p.url()}: ${e}`));
  context.pages().forEach(watch);
  context.on('page', watch);
  const close = context.close.bind(context);
  context.pageErrors = pageErrors;
  context.close = async (...args) => {
    await close(...args);
    if (pageErrors.length) {
      throw new Error(`${pageErrors.length} uncaught error(s) / unhandled rejection(s) in test pages:\n${pageErrors.join('\n')}`);
    }
  };
  return context;
}

/**
 * Collects `page`'s uncaught errors and unhandled rejections (Playwright's
 * `pageerror`), so a test can assert there were none and fail itself, not
 * only the file's closing check in `launchBrowser`.
 */
export function pageErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

/**
 * Leaves `page` for `awayUrl` and goes back, waiting until the page is shown
 * again from the back/forward cache (fails if it was loaded anew instead). The
 * browser needs the bfcache on (see agent-bfcache.test.mjs).
 */
export async function returnViaBfcache(page, awayUrl) {
  await page.evaluate(() => addEventListener('pageshow', (e) => { window.__restored = e.persisted; }));
  await page.goto(awayUrl);
  await sleep(300);
  // A restore fires pageshow, not load: wait for the commit only.
  await page.goBack({ waitUntil: 'commit' });
  await page.waitForFunction(() => window.__restored === true, null, { timeout: 5000 });
}

export function uniqueSite(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

export function ensureArtifacts() {
  mkdirSync(artifacts, { recursive: true });
  return artifacts;
}
