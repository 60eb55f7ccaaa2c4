// Scenarios that need a browser with no automation attached; the pages drive
// themselves and the test only reads what reached the servers.
// - Prerender (metrics-spec §1.4, activationStart): Chromium refuses to prerender
//   while a DevTools client is attached (Preload.prerenderStatusUpdated:
//   "PrerenderingDisabledByDevTools").
// - Hidden before the first paint (§1.6): a plain Chromium switches tabs on
//   window.open and fires visibilitychange; a Playwright-driven one keeps every
//   page visible.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startCollector, startSite, uniqueSite, sleep, chromiumSwitches } from './harness.mjs';
import { compare } from './agent-compare.mjs';

let collector, site;

before(async () => {
  collector = await startCollector();
  site = await startSite(collector.origin);
});

after(async () => {
  await site?.close();
  await collector?.stop();
});

/** Headless Chromium on `url` with no automation attached; returns a stop function. */
async function openPlain(url) {
  const dir = await mkdtemp(path.join(tmpdir(), 'strray-chromium-'));
  const child = spawn(process.env.CHROMIUM || '/usr/bin/chromium', [
    '--headless', ...chromiumSwitches,
    // The hidden-start page opens a tab from a script, without a user gesture.
    '--disable-popup-blocking',
    `--user-data-dir=${dir}`, url,
  ], { stdio: 'ignore', detached: true });
  child.unref(); // a browser that outlives its kill must not keep the test runner alive
  return async () => {
    try { process.kill(-child.pid, 'SIGKILL'); } catch {}
    // `exit` may have fired already (exitCode or signalCode set); never wait forever.
    if (child.exitCode === null && child.signalCode === null) {
      await Promise.race([
        new Promise((r) => child.once('exit', r)),
        new Promise((r) => setTimeout(r, 5000).unref()),
      ]);
    }
    await rm(dir, { recursive: true, force: true });
  };
}

/** Waits for the page's own probe report (`site` + "/probe"). */
async function probeOf(k) {
  for (let i = 0; i < 100; i++) {
    const probe = site.beacons.find((b) => b.site === `${k}/probe`);
    if (probe) return probe;
    await sleep(100);
  }
  return undefined;
}

test('prerendered page: same reports as web-vitals, type prerender, times from activation', async () => {
  const k = uniqueSite('prerender');
  const stop = await openPlain(`${site.origin}/agent-prerender.html?site=${k}`);
  try {
    // The page reports its activationStart: > 0 proves a prerender was activated
    // (a plain navigation has 0, and the test would compare nothing new).
    const probe = await probeOf(k);
    assert.ok(probe, 'the prerendered page was activated');
    assert.ok(probe.activationStart > 1000, `activationStart ${probe?.activationStart} > 1 s (launcher waits 2.5 s)`);

    const { agent } = await compare({ site, collector }, k, ['FCP', 'LCP', 'CLS', 'TTFB'], {
      extra: (m) => {
        for (const [key, { lib }] of Object.entries(m)) assert.equal(lib.navigationType, 'prerender', `${key}: navigation type prerender`);
      },
    });
    // Measured from activation: the page loaded during the prerender and paints
    // right after activation (FCP ≈ 35 ms here); an agent ignoring
    // activationStart would report ≈ 2.5 s.
    for (const r of agent) {
      assert.equal(r.navigation_type, 'prerender', `${r.name} navigation type`);
      if (r.name !== 'CLS') assert.ok(r.value < probe.activationStart / 2, `${r.name} ${r.value} measured from activation`);
    }
  } finally {
    await stop();
  }
});

test('hidden before the first paint: no FCP, LCP or CLS, like web-vitals', async () => {
  const k = uniqueSite('hidden');
  const stop = await openPlain(`${site.origin}/agent-hidden.html?site=${k}`);
  try {
    const probe = await probeOf(k);
    assert.ok(probe?.opened, 'the page opened a tab');
    assert.ok(probe.hiddenAt !== null, 'the page was hidden');
    assert.ok(probe.fcpAt === null || probe.hiddenAt < probe.fcpAt, `hidden (${probe.hiddenAt}) before the first paint (${probe.fcpAt})`);
    // TTFB is all web-vitals reports; the same-set check fails if the agent
    // reports a paint metric (or CLS, which web-vitals starts only after FCP).
    const { agent } = await compare({ site, collector }, k, ['TTFB']);
    assert.deepEqual(agent.map((r) => r.name), ['TTFB']);
  } finally {
    await stop();
  }
});
