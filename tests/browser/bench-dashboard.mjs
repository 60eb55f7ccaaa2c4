// Dashboard load time on a seeded database (used by `cargo xtask bench-reports`):
// starts the collector on BENCH_DATABASE_URL, loads /sites/BENCH_SITE in
// headless Chromium a few times and prints the navigation timings. No assertions.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { launchBrowser, sleep } from './harness.mjs';

const bin = process.env.COLLECTOR_BIN;
const site = process.env.BENCH_SITE || 'shop';
const srv = createServer();
await new Promise((r) => srv.listen(0, '127.0.0.1', r));
const { port } = srv.address();
await new Promise((r) => srv.close(r));
const child = spawn(bin, [], {
  env: { ...process.env, DATABASE_URL: process.env.BENCH_DATABASE_URL, STRRAY_BIND: `127.0.0.1:${port}`, RUST_LOG: 'warn' },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const origin = `http://127.0.0.1:${port}`;
for (let i = 0; i < 600; i++) {
  try { if ((await fetch(`${origin}/readyz`)).ok) break; } catch {}
  await sleep(100);
}
const browser = await launchBrowser();
const runs = [];
try {
  for (let i = 0; i < 6; i++) {
    const page = await browser.newPage();
    await page.goto(`${origin}/sites/${site}`, { waitUntil: 'load' });
    const t = await page.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0];
      return { server: n.responseStart - n.requestStart, load: n.loadEventEnd - n.startTime, bytes: n.transferSize };
    });
    const charts = await page.locator('#trends svg.chart').count();
    runs.push({ ...t, charts });
    await page.close();
  }
} finally {
  await browser.close();
  child.kill('SIGTERM');
}
const warm = runs.slice(1); // the first load warms caches
const med = (k) => warm.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(warm.length / 2)];
console.log(`dashboard /sites/${site} in headless Chromium (${warm.length} warm loads, median; first load ${runs[0].load.toFixed(0)} ms)`);
console.log(`  server time to first byte  ${med('server').toFixed(0)} ms`);
console.log(`  fully loaded (load event)  ${med('load').toFixed(0)} ms`);
console.log(`  page size                  ${(runs[0].bytes / 1024).toFixed(0)} KiB, ${runs[0].charts} charts`);
