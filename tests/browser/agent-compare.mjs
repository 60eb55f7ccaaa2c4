// Compares what the reference libraries reported for a page load (posted to the
// test site's /__report) with what the agent stored in the collector.
import assert from 'node:assert/strict';
import { sleep } from './harness.mjs';

/** Last report per metric id (reportAllChanges is off, so re-reports only grow CLS/INP). */
function latestById(list, idOf) {
  const m = new Map();
  for (const r of list) m.set(idOf(r), r);
  return [...m.values()];
}

const key = (name, nav) => `${name}/${nav}`;

/**
 * Waits until the libraries have reported and the agent's rows cover them,
 * then compares. `expect` lists metric names that must be present (so a test
 * cannot pass with both sides empty).
 */
export async function compare({ site, collector }, siteKey, expect, { extra = () => {} } = {}) {
  // The libraries report synchronously on pagehide/hidden; give the beacons a moment.
  let lib = [];
  for (let i = 0; i < 50; i++) {
    lib = site.beacons.filter((b) => b.site === siteKey);
    if (expect.every((n) => lib.some((b) => b.name === n))) break;
    await sleep(100);
  }
  await sleep(300);
  lib = latestById(site.beacons.filter((b) => b.site === siteKey), (r) => r.id ?? `${r.name}/${r.navigationType}`);
  const want = new Set(lib.map((r) => key(r.name, r.navigationType)));
  const rows = await collector.waitFor(siteKey, (rs) => [...want].every((k) => rs.some((r) => key(r.name, r.navigation_type) === k)));
  await sleep(500);
  const agent = latestById(await collector.metrics(siteKey), (r) => r.metric_id)
    // TBT has no reference implementation (TTI's is checked against tti-polyfill).
    .filter((r) => r.name !== 'TBT');
  const got = new Set(agent.map((r) => key(r.name, r.navigation_type)));
  const detail = `\n  libraries: ${JSON.stringify(lib.map((r) => [r.name, r.navigationType, r.value]))}\n  agent:     ${JSON.stringify(agent.map((r) => [r.name, r.navigation_type, r.value]))}`;
  for (const n of expect) assert.ok([...want].some((k) => k.startsWith(`${n}/`)), `the libraries reported ${n}${detail}`);
  assert.deepEqual([...got].sort(), [...want].sort(), `same set of reports${detail}`);
  assert.equal(agent.length, lib.length, `one agent metric per library report${detail}`);

  const pairs = lib.map((l) => [l, agent.find((a) => key(a.name, a.navigation_type) === key(l.name, l.navigationType))]);
  for (const [l, a] of pairs) {
    // After a bfcache restore FCP and LCP are "now" inside a double-rAF callback.
    // Callbacks of different libraries run one after another in the same frame, so
    // they differ by the time the earlier ones took (web-vitals' own FCP and LCP
    // once differed by 3.4 ms here): 5 ms, well below one frame (16.7 ms), so an
    // agent that waited one frame more or less than two would fail.
    const frameTimed = l.navigationType === 'back-forward-cache' && (l.name === 'FCP' || l.name === 'LCP');
    const tol = l.name === 'CLS' ? 1e-4 : l.name === 'TTI' ? 50 : frameTimed ? 5 : 1;
    assert.ok(Math.abs(a.value - l.value) <= tol, `${l.name} (${l.navigationType}): agent ${a.value} vs ${l.lib} ${l.value} (±${tol})${detail}`);
    if (l.rating) assert.equal(a.rating, l.rating, `${l.name} rating`);
    const attr = a.attribution || {}; // the API answers attribution as an object
    const la = l.attribution || {};
    const near = (x, y, what) => assert.ok(Math.abs(x - y) <= 1, `${l.name} ${what}: agent ${x} vs ${y}`);
    if (l.name === 'LCP' && l.navigationType !== 'back-forward-cache') {
      assert.equal(attr.target, la.target, 'LCP target');
      assert.equal(attr.url, la.url, 'LCP url');
      near(attr.ttfb, la.timeToFirstByte, 'ttfb');
      near(attr.load_delay, la.resourceLoadDelay, 'load delay');
      near(attr.load_duration, la.resourceLoadDuration, 'load duration');
      near(attr.render_delay, la.elementRenderDelay, 'render delay');
    }
    if (l.name === 'CLS' && la.largestShiftTarget !== undefined) {
      assert.equal(attr.target, la.largestShiftTarget, 'CLS largest shift target');
      near(attr.time, la.largestShiftTime, 'largest shift time');
    }
    if (l.name === 'INP' && la.interactionTarget !== undefined) {
      assert.equal(attr.target, la.interactionTarget, 'INP target');
      assert.equal(attr.event_type.startsWith('key') ? 'keyboard' : 'pointer', la.interactionType, 'INP type');
      near(attr.input_delay, la.inputDelay, 'input delay');
      near(attr.processing, la.processingDuration, 'processing');
      near(attr.presentation, la.presentationDelay, 'presentation');
    }
    if (l.name === 'FID') {
      assert.equal(attr.target, la.eventTarget, 'FID target');
      assert.equal(attr.event_type, la.eventType, 'FID event type');
    }
  }
  // Metric ids are unique per page view; values are finite and ≥ 0.
  assert.equal(new Set(agent.map((r) => r.metric_id)).size, agent.length);
  for (const r of agent) assert.ok(Number.isFinite(r.value) && r.value >= 0);
  extra(Object.fromEntries(pairs.map(([l, a]) => [key(l.name, l.navigationType), { lib: l, agent: a }])));
  return { lib, agent };
}

