// Compares what the reference libraries reported for a page load (posted to the
// test site's /__report) with what the agent stored in the collector, report by
// report: page views are paired first (the libraries' by document and
// navigation start, the agent's by page view id), then within each page view
// the libraries' metric id of a name with the agent's metric id of that name.
import assert from 'node:assert/strict';
import { sleep } from './harness.mjs';

/** One record per id: the one `newer` prefers (re-reports only grow CLS/INP). */
function latestById(list, idOf, newer) {
  const m = new Map();
  for (const r of list) {
    const id = idOf(r);
    if (!m.has(id) || newer(r, m.get(id))) m.set(id, r);
  }
  return [...m.values()];
}

/** Path of a URL (the key a page view is paired by, with its navigation type). */
const pathOf = (url) => (url ? new URL(url).pathname : undefined);

/** Groups `list` by `keyOf` in first-seen order. */
function groupBy(list, keyOf) {
  const m = new Map();
  for (const r of list) {
    const k = keyOf(r);
    if (!m.has(k)) m.set(k, []);
    m.get(k).push(r);
  }
  return [...m.entries()];
}

/**
 * The libraries' page views (document + navigation start: web-vitals gives each
 * restore and soft navigation its own start), each document's in the order
 * they started, with their navigation type and URL path.
 */
function libViews(lib) {
  const docs = [...new Set(lib.map((r) => r.doc))];
  return groupBy(lib, (r) => `${r.doc}@${r.navigationStartTime}`)
    .map(([key, reports]) => {
      // tti-polyfill and web-vitals v4 give no URL: the view's comes from web-vitals.
      const url = reports.find((r) => r.navigationURL)?.navigationURL;
      const type = reports.find((r) => r.name !== 'TTI')?.navigationType ?? reports[0].navigationType;
      const { doc, navigationStartTime: start } = reports[0];
      return { key, type, path: pathOf(url), order: [docs.indexOf(doc), start], reports };
    })
    .sort((a, b) => a.order[0] - b.order[0] || a.order[1] - b.order[1]);
}

/** The agent's page views, in the order the collector received their first beacons. */
function agentViews(agent) {
  const first = (rows) => Math.min(...rows.map((r) => Date.parse(r.received_at)));
  return groupBy(agent, (r) => r.page_view_id)
    .map(([key, rows]) => ({ key, type: rows[0].navigation_type, path: pathOf(rows[0].url), first: first(rows), rows }))
    .sort((a, b) => a.first - b.first);
}

/**
 * Pairs each library page view with an unpaired agent page view of the same
 * navigation type: the one with the same URL path, else the earliest (without
 * soft navigations the agent files a page view under `location.href` at send
 * time, web-vitals under the navigation's URL). Then pairs each report in it
 * with the agent's report of the same name. Both sides must have exactly one
 * report (metric id) per metric name and page view.
 */
function pairReports(lib, agent, detail) {
  const views = agentViews(agent);
  const pairs = [];
  for (const lv of libViews(lib)) {
    const same = views.filter((av) => av.type === lv.type);
    const av = same.find((v) => v.path === lv.path) ?? same[0];
    assert.ok(av, `the agent has a page view like the libraries' ${lv.key} (${lv.type} ${lv.path})${detail}`);
    views.splice(views.indexOf(av), 1);
    const one = (list, name, side) => {
      const found = list.filter((r) => r.name === name);
      assert.ok(found.length <= 1, `${side}: one ${name} per page view, not ${found.length}${detail}`);
      return found[0];
    };
    const names = (list) => list.map((r) => r.name).sort();
    assert.deepEqual(names(av.rows), names(lv.reports), `page view ${lv.type} ${lv.path}: the same metrics${detail}`);
    for (const l of lv.reports) {
      one(lv.reports, l.name, 'libraries');
      pairs.push([l, one(av.rows, l.name, 'agent'), lv]);
    }
  }
  assert.deepEqual(views.map((v) => `${v.type} ${v.path}`), [], `no agent page view the libraries did not report${detail}`);
  return pairs;
}

/**
 * Waits until the libraries have reported and the agent's rows cover them,
 * then compares. `expect` lists metric names that must be present (so a test
 * cannot pass with both sides empty); `ready(reports)` may wait for more;
 * `frameTolerance` (ms) bounds bfcache FCP/LCP differences.
 * `extra(m)` gets the pairs keyed `name/navigationType` and
 * `name/navigationType path` (each key only where it names one pair).
 */
export async function compare({ site, collector }, siteKey, expect, { extra = () => {}, ready = () => true, frameTolerance = 5 } = {}) {
  // The libraries report synchronously on pagehide/hidden; give the beacons a moment.
  const mine = () => site.beacons.filter((b) => b.site === siteKey);
  const done = (reports) => expect.every((n) => reports.some((b) => b.name === n)) && ready(reports);
  for (let i = 0; i < 50 && !done(mine()); i++) await sleep(100);
  await sleep(300);
  // Ids are unique per report of a page view; `seq` orders one document's reports.
  const lib = latestById(mine(), (r) => `${r.doc} ${r.id ?? r.name}`, (r, was) => r.seq > was.seq);
  // TBT and WEIGHT have no reference implementation (TBT is checked against
  // the page's long tasks in agent-conformance.test.mjs, WEIGHT against the
  // bytes served in agent-weight.test.mjs).
  const latest = (rows) => latestById(rows.filter((r) => r.name !== 'TBT' && r.name !== 'WEIGHT'), (r) => r.metric_id, (r, was) => r.seq > was.seq);
  await collector.waitFor(siteKey, (rs) => latest(rs).length >= lib.length);
  await sleep(500);
  const agent = latest(await collector.metrics(siteKey));
  const detail = `\n  libraries: ${JSON.stringify(lib.map((r) => [r.name, r.navigationType, r.navigationStartTime, r.value]))}\n  agent:     ${JSON.stringify(agent.map((r) => [r.name, r.navigation_type, r.page_view_id.slice(0, 4), r.value]))}`;
  for (const n of expect) assert.ok(lib.some((r) => r.name === n), `the libraries reported ${n}${detail}`);
  const pairs = pairReports(lib, agent, detail);
  assert.equal(agent.length, lib.length, `one agent metric per library report${detail}`);

  for (const [l, a] of pairs) {
    const what = `${l.name} (${l.navigationType} ${pathOf(l.navigationURL) ?? ''})`;
    assert.equal(a.navigation_type, l.navigationType, `${what} navigation type`);
    // After a bfcache restore FCP and LCP are "now" inside a double-rAF callback.
    // Callbacks of different libraries run one after another in the same frame, so
    // they differ by the time the earlier ones took (web-vitals' own FCP and LCP
    // once differed by 3.4 ms here): 5 ms by default, well below one frame
    // (16.7 ms), so an agent that waited one frame more or less than two would fail.
    const frameTimed = l.navigationType === 'back-forward-cache' && (l.name === 'FCP' || l.name === 'LCP');
    const tol = l.name === 'CLS' ? 1e-4 : l.name === 'TTI' ? 50 : frameTimed ? frameTolerance : 1;
    assert.ok(Math.abs(a.value - l.value) <= tol, `${what}: agent ${a.value} vs ${l.lib} ${l.value} (±${tol})${detail}`);
    if (l.rating) assert.equal(a.rating, l.rating, `${what} rating`);
    const attr = a.attribution || {}; // the API answers attribution as an object
    const la = l.attribution || {};
    const near = (x, y, field) => assert.ok(Math.abs(x - y) <= 1, `${what} ${field}: agent ${x} vs ${y}`);
    if (l.name === 'LCP' && l.navigationType !== 'back-forward-cache') {
      assert.equal(attr.target, la.target, `${what} target`);
      assert.equal(attr.url, la.url, `${what} url`);
      near(attr.ttfb, la.timeToFirstByte, 'ttfb');
      near(attr.load_delay, la.resourceLoadDelay, 'load delay');
      near(attr.load_duration, la.resourceLoadDuration, 'load duration');
      near(attr.render_delay, la.elementRenderDelay, 'render delay');
    }
    if (l.name === 'CLS') {
      // Also without a shift (or a shift without a node): then both have no target.
      assert.equal(attr.target ?? '', la.largestShiftTarget ?? '', `${what} largest shift target`);
      if (la.largestShiftTime === undefined) assert.equal(attr.time, undefined, `${what}: no largest shift time`);
      else near(attr.time, la.largestShiftTime, 'largest shift time');
    }
    if (l.name === 'INP') {
      assert.equal(attr.target ?? '', la.interactionTarget ?? '', `${what} target`);
      assert.equal(attr.event_type.startsWith('key') ? 'keyboard' : 'pointer', la.interactionType, `${what} type`);
      near(attr.input_delay, la.inputDelay, 'input delay');
      near(attr.processing, la.processingDuration, 'processing');
      near(attr.presentation, la.presentationDelay, 'presentation');
    }
    if (l.name === 'FID') {
      assert.equal(attr.target, la.eventTarget, `${what} target`);
      assert.equal(attr.event_type, la.eventType, `${what} event type`);
    }
  }
  // Metric ids are unique per page view; values are finite and ≥ 0.
  assert.equal(new Set(agent.map((r) => r.metric_id)).size, agent.length);
  for (const r of agent) assert.ok(Number.isFinite(r.value) && r.value >= 0);
  const byKey = new Map();
  for (const [l, a, view] of pairs) {
    for (const k of [`${l.name}/${view.type}`, `${l.name}/${view.type} ${view.path}`]) {
      byKey.set(k, byKey.has(k) ? null : { lib: l, agent: a });
    }
  }
  extra(Object.fromEntries([...byKey].filter(([, v]) => v)));
  return { lib, agent, pairs };
}
