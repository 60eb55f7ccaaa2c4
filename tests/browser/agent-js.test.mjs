// Unit tests of the agent's pure JS helpers (agent-wasm/js/core.js), run in
// node: `selector` (web-vitals' getSelector rules, metrics-spec §1.12) walks
// node-shaped objects here; the browser tests check it against web-vitals on
// real DOMs. `cut` caps wire-format strings by code point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { root } from './harness.mjs';
import { getSelector } from '../../node_modules/web-vitals/dist/modules/lib/getSelector.js';

const src = readFileSync(path.join(root, 'agent-wasm/js/core.js'), 'utf8');
const { selector, cut, round } = new Function(`${src}\nreturn { selector, cut, round };`)();

/** A DOMTokenList's tokens: split at ASCII whitespace, duplicates dropped. */
const tokens = (cls) => [...new Set((cls || '').split(/[ \t\n\f\r]+/).filter(Boolean))];

/** An element chain from the root down: each step `[nodeName, id, class]`. */
function chain(...steps) {
  let parent = { nodeType: 9, nodeName: '#document' };
  for (const [name, id = '', cls = null] of steps) {
    parent = { nodeType: 1, nodeName: name, id, parentNode: parent, classList: tokens(cls) };
  }
  return parent;
}

test('selector steps follow web-vitals', () => {
  assert.equal(selector(chain(['IMG', '', 'foo bar'])), 'img.bar.foo');
  assert.equal(selector(chain(['DIV', 'main', 'x'])), '#main');
  assert.equal(selector(chain(['P', '', '  '])), 'p');
  assert.equal(selector(chain(['DIV', '', '\tb\n  a\fc\r'])), 'div.a.b.c');
  assert.equal(selector(chain(['DIV', '', 'b a b'])), 'div.a.b');
  // Only ASCII whitespace separates classes (U+00A0 does not).
  assert.equal(selector(chain(['I', '', 'é\u00a0x ü'])), 'i.é\u00a0x.ü');
  const text = { nodeType: 3, nodeName: '#text', parentNode: chain(['P']) };
  assert.equal(selector(text), 'p>TEXT');
});

test('selectors join from ancestor to descendant and stop at an id', () => {
  assert.equal(selector(chain(['HTML'], ['BODY'], ['MAIN'], ['P'], ['IMG', '', 'foo bar'])), 'html>body>main>p>img.bar.foo');
  assert.equal(selector(chain(['HTML'], ['BODY'], ['DIV', 'content'], ['H1'])), '#content>h1');
});

test('selectors stop before one hundred characters', () => {
  const long = 'D'.repeat(60);
  const s = selector(chain(['HTML'], [long], [long], ['SPAN']));
  assert.equal(s, `${long.toLowerCase()}>span`);
  assert.ok(s.length < 100);
  // A single step longer than the limit is kept whole (web-vitals does too).
  const huge = 'X'.repeat(150);
  assert.equal(selector(chain(['BODY'], [huge])), huge.toLowerCase());
  // The limit counts the steps, not the `>`s between them (as web-vitals does).
  const full = selector(chain(['A'.repeat(38)], ['B'.repeat(55)], ['C'.repeat(5)]));
  assert.equal(full.length, 100);
});

test('selector of nothing, a detached node or a hostile object is empty or partial, never a throw', () => {
  assert.equal(selector(null), '');
  assert.equal(selector(undefined), '');
  assert.equal(selector({}), '');
  assert.equal(selector({ nodeType: 1, nodeName: 'B', id: { not: 'a string' }, parentNode: null }), 'b');
  // A cycle ends after 100 steps at most, within the length limit.
  const a = { nodeType: 1, nodeName: 'A', id: '' };
  a.parentNode = a;
  assert.equal(selector(a), Array(50).fill('a').join('>'));
});

test('selector equals web-vitals getSelector, and its properties hold, over 2 000 random DOM chains', () => {
  // mulberry32: a seeded PRNG, so a failure reproduces.
  let seed = 0x5eed;
  const rnd = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = (n) => Math.floor(rnd() * n);
  const word = (max) => Array.from({ length: 1 + pick(max) }, () => 'abcxyzDIV-_é'[pick(12)]).join('');
  for (let run = 0; run < 2000; run++) {
    const steps = Array.from({ length: 1 + pick(25) }, () => [
      word(pick(3) === 0 ? 60 : 8).toUpperCase(),
      pick(6) === 0 ? word(10) : '',
      pick(2) ? Array.from({ length: pick(4) }, () => word(6)).join(pick(2) ? ' ' : '\t ') : null,
    ]);
    const own = steps.map(([name, id, cls]) => (id ? `#${id}` : [name.toLowerCase(), ...tokens(cls).sort()].join('.')));
    const s = selector(chain(...steps));
    // Same string as web-vitals' own getSelector on the same nodes.
    assert.equal(s, getSelector(chain(...steps)), JSON.stringify(steps));
    const parts = s.split('>');
    const ctx = `${JSON.stringify(steps)} → ${s}`;
    // A contiguous run of the chain's steps, ending at the target.
    assert.deepEqual(parts, own.slice(own.length - parts.length), ctx);
    // The steps alone stay under 100 characters (the `>`s are not counted, as
    // in web-vitals), unless the target's own step alone is longer.
    assert.ok(s.length - (parts.length - 1) < 100 || parts.length === 1, ctx);
    // It stops at the nearest id: no id below the first part.
    assert.ok(parts.slice(1).every((p) => !p.startsWith('#')), ctx);
    // And only there, at the root, or where one more step would reach 100.
    const next = own[own.length - parts.length - 1];
    const stopped = parts[0].startsWith('#') || next === undefined || s.length + next.length > 99;
    assert.ok(stopped, ctx);
  }
});

test('cut caps by code point and never splits a surrogate pair', () => {
  assert.equal(cut('abc', 5), 'abc');
  assert.equal(cut('abcdef', 3), 'abc');
  assert.equal(cut('😀😀😀', 2), '😀😀');
  assert.equal(cut('a😀b', 2), 'a😀');
  assert.equal(JSON.stringify(cut('😀'.repeat(600), 500)).includes('\\u'), false);
});

test('round keeps 0.1 ms and 1e-6 of CLS', () => {
  assert.equal(round(1234.5678, 10), 1234.6);
  assert.equal(round(0.12345678, 1e6), 0.123457);
  assert.equal(round(3, 10), 3);
});

// The shipped wasm kernel through its real exports (the ABI core.js relies on;
// the math itself is unit- and property-tested in vitals-core).
const dist = process.env.STRRAY_AGENT_DIR || path.join(root, 'target/agent-dist');
async function kernel() {
  const { wasm } = JSON.parse(readFileSync(path.join(dist, 'manifest.json'), 'utf8'));
  const { instance } = await WebAssembly.instantiate(readFileSync(path.join(dist, wasm)), {});
  return instance.exports;
}

test('kernel: ratings at the web-vitals thresholds, in MetricName order', async () => {
  const k = await kernel();
  const NAMES = ['FCP', 'LCP', 'FID', 'CLS', 'TTI', 'INP', 'TTFB', 'TBT'];
  const cases = { LCP: [2500, 4000], INP: [200, 500], CLS: [0.1, 0.25], FCP: [1800, 3000], TTFB: [800, 1800], FID: [100, 300] };
  for (const [name, [good, poor]] of Object.entries(cases)) {
    const m = NAMES.indexOf(name);
    assert.deepEqual([k.g(m, good), k.g(m, good * 1.001), k.g(m, poor), k.g(m, poor * 1.001)], [0, 1, 1, 2], name);
  }
});

test('kernel: CLS windows and their largest shift', async () => {
  const k = await kernel();
  assert.equal(k.c(100, 0.1, 0), 1, 'first shift is its window\'s largest');
  assert.equal(k.c(500, 0.05, 0), 0);
  assert.equal(k.c(600, 0.5, 1), 0, 'hadRecentInput is ignored');
  assert.ok(Math.abs(k.C() - 0.15) < 1e-12);
  assert.equal(k.o(0), 100, 'time of the worst window\'s largest shift');
  assert.equal(k.C(), -1, 'unchanged');
  assert.equal(k.c(3000, 0.3, 0), 1, 'a gap of ≥ 1 s starts a new window');
  assert.equal(k.c(3100, 0.3, 0), 1, 'ties go to the later shift');
  assert.ok(Math.abs(k.C() - 0.6) < 1e-12);
  assert.equal(k.o(0), 3100);
  k.r();
  assert.equal(k.C(), -1, 'reset: no window');
});

test('kernel: INP pick and split with string handles; TTI and TBT', async () => {
  const k = await kernel();
  assert.equal(k.i(NaN), -1, 'no interactions');
  assert.equal(k.w(1, 104), 1);
  k.e(1, 1000, 104, 1010, 1070, 5, 6);
  k.e(0, 1500, 300, 1510, 1520, 0, 0); // no interaction id: never a candidate
  assert.equal(k.i(NaN), 104);
  assert.deepEqual([1, 2, 3, 4, 5].map((i) => k.o(i)), [10, 60, 34, 6, 5]);
  // 50 interactions: the second longest is INP (one skipped per 50).
  k.e(2, 2000, 200, 2005, 2100, 7, 8);
  assert.equal(k.i(50), 104);
  assert.equal(k.i(49), 200);
  // TTI: quiet 5 s after FCP with no long task → FCP; a 150 ms long task moves it.
  assert.equal(k.t(1000, 1000, 5999, 0), -1);
  assert.equal(k.o(6), 1000, 'next check in ≥ 1 s');
  assert.equal(k.t(1000, 1000, 6000, 0), 1000);
  assert.ok(k.o(6) === 0, 'TBT 0');
  k.l(0, 2000, 2150);
  assert.equal(k.t(1000, 1000, 7100, 0), -1);
  assert.equal(k.t(1000, 1000, 7150, 0), 2150);
  assert.equal(k.o(6), 100, 'TBT: the part beyond 50 ms');
  // Three requests in flight keep the network busy.
  [1, 2, 3].forEach((t) => k.f(t));
  assert.equal(k.t(1000, 1000, 60000, 0), -1);
});
