// Main-thread cost of the agent (a benchmark, not a test): run by
// `cargo xtask bench-agent [loads]`. Loads the same page with and without the
// agent in headless Chromium, alternating, and prints medians and spread of:
// loader start → observers registered, the agent's own script time in long
// animation frames, long tasks, and the page's FCP / LCP.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startSite, launchBrowser, sleep } from './harness.mjs';

const loads = Number(process.argv[2] || 15);
const dist = process.env.STRRAY_AGENT_DIR;
if (!dist) throw new Error('STRRAY_AGENT_DIR is not set (cargo xtask bench-agent sets it)');

// A stand-in collector: serves the built agent and swallows beacons.
const collector = createServer(async (req, res) => {
  const name = new URL(req.url, 'http://x').pathname.replace(/^\/v1\//, '');
  if (req.method === 'POST') { req.resume(); res.writeHead(204, { 'access-control-allow-origin': '*' }).end(); return; }
  try {
    const body = await readFile(path.join(dist, path.basename(name)));
    res.writeHead(200, { 'content-type': name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', 'access-control-allow-origin': '*' });
    res.end(body);
  } catch { res.writeHead(404).end(); }
});
await new Promise((r) => collector.listen(0, '127.0.0.1', r));
const site = await startSite(`http://127.0.0.1:${collector.address().port}`);
const browser = await launchBrowser();

const runs = { agent: [], none: [] };
for (let i = 0; i < loads * 2; i++) {
  const kind = i % 2 ? 'none' : 'agent';
  const page = await browser.newPage();
  await page.goto(`${site.origin}/${kind === 'agent' ? 'agent-bench.html' : 'agent-bench-none.html'}?site=bench`);
  await page.waitForLoadState('load');
  await sleep(1000);
  const p = await page.evaluate(() => window.__probe);
  // Flush path too: leaving the page runs the agent's pagehide/hidden handlers.
  await page.goto('about:blank');
  await page.close();
  const agentScript = p.loafs.flatMap((l) => l.scripts).filter((s) => /agent/.test(s.url));
  runs[kind].push({
    startToObserving: p.scriptStart != null && p.observing != null ? p.observing - p.scriptStart : null,
    agentLoafScriptMs: agentScript.reduce((a, s) => a + s.duration, 0),
    agentLongTasks: agentScript.filter((s) => s.duration >= 50).length,
    longTasks: p.longtasks.length,
    fcp: p.fcp,
    lcp: p.lcp,
  });
}
await browser.close();
await site.close();
collector.close();

const stats = (xs) => {
  const v = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (!v.length) return '-';
  const q = (f) => v[Math.min(v.length - 1, Math.floor(f * v.length))];
  return `${q(0.5).toFixed(1)} (p10 ${q(0.1).toFixed(1)}, p90 ${q(0.9).toFixed(1)}, n=${v.length})`;
};
console.log(`agent main-thread benchmark: ${loads} loads each, headless Chromium, ${new Date().toISOString()}`);
console.log(`command: cargo xtask bench-agent ${loads}`);
const rows = [
  ['loader start → observing (ms)', 'startToObserving'],
  ['agent script time in LoAFs (ms)', 'agentLoafScriptMs'],
  ['agent scripts ≥ 50 ms (count)', 'agentLongTasks'],
  ['long tasks on the page (count)', 'longTasks'],
  ['page FCP (ms)', 'fcp'],
  ['page LCP (ms)', 'lcp'],
];
console.log(`| metric | with agent: median (p10, p90) | without agent |\n| --- | --- | --- |`);
for (const [label, k] of rows) {
  console.log(`| ${label} | ${stats(runs.agent.map((r) => r[k]))} | ${k === 'startToObserving' || k.startsWith('agent') ? 'n/a' : stats(runs.none.map((r) => r[k]))} |`);
}
