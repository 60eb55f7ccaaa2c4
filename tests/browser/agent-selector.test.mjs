// The agent's selector walk (agent-wasm/src/dom.rs + vitals-core's selector
// steps: web-vitals' getSelector rules, metrics-spec §1.12) against web-vitals'
// own getSelector, in node on node-shaped objects: the agent's test build
// (`test-exports`, built by `cargo xtask test`) exports `selectorOf(node)`.
// The browser tests compare reported targets on real DOMs; this covers the
// corners no page reaches (long chains, odd class lists, non-ASCII, cycles).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { getSelector } from '../../node_modules/web-vitals/dist/modules/lib/getSelector.js';

const pkg = process.env.STRRAY_AGENT_TEST_PKG;
if (!pkg) throw new Error('STRRAY_AGENT_TEST_PKG is not set: run through `cargo xtask test`');
const glue = await import(pathToFileURL(path.join(pkg, 'agent.js')).href);
glue.initSync({ module: readFileSync(path.join(pkg, 'agent_bg.wasm')) });
const selector = glue.selectorOf;

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

test('selector of nothing, a detached node or a hostile object is empty or partial, never a throw', () => {
  assert.equal(selector(null), '');
  assert.equal(selector(undefined), '');
  assert.equal(selector({}), '');
  assert.equal(selector({ nodeType: 1, nodeName: 'B', id: { not: 'a string' }, parentNode: null }), 'b');
  const throwing = { nodeType: 1, get nodeName() { throw new Error('hostile'); }, parentNode: null };
  assert.equal(selector(throwing), '');
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
  // Whole code points (a lone surrogate would become U+FFFD in the agent's
  // Rust strings, where web-vitals keeps it: not a case a DOM id meets).
  const chars = [...'abcxyzDIV-_é😀'];
  const word = (max) => Array.from({ length: 1 + pick(max) }, () => chars[pick(chars.length)]).join('');
  for (let run = 0; run < 2000; run++) {
    const steps = Array.from({ length: 1 + pick(25) }, () => [
      word(pick(3) === 0 ? 60 : 8).toUpperCase(),
      pick(6) === 0 ? word(10) : '',
      pick(2) ? Array.from({ length: pick(4) }, () => word(6)).join(pick(2) ? ' ' : '\t ') : null,
    ]);
    const s = selector(chain(...steps));
    const ctx = `${JSON.stringify(steps)} → ${s}`;
    // Same string as web-vitals' own getSelector on the same nodes.
    assert.equal(s, getSelector(chain(...steps)), ctx);
    // It stops at the nearest id: no id below the first part.
    const parts = s.split('>');
    assert.ok(parts.slice(1).every((p) => !p.startsWith('#')), ctx);
  }
});
