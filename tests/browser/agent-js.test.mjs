// Unit tests of the agent's pure JS helpers (agent-wasm/js/core.js), run in
// node: `selector` (web-vitals' getSelector rules, metrics-spec §1.12) walks
// node-shaped objects here; the browser tests check it against web-vitals on
// real DOMs. `cut` caps wire-format strings by code point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { root } from './harness.mjs';

const src = readFileSync(path.join(root, 'agent-wasm/js/core.js'), 'utf8');
const { selector, cut, round } = new Function(`${src}\nreturn { selector, cut, round };`)();

/** An element chain from the root down: each step `[nodeName, id, class]`. */
function chain(...steps) {
  let parent = { nodeType: 9, nodeName: '#document' };
  for (const [name, id = '', cls = null] of steps) {
    parent = { nodeType: 1, nodeName: name, id, parentNode: parent, getAttribute: (a) => (a === 'class' ? cls : null) };
  }
  return parent;
}

test('selector steps follow web-vitals', () => {
  assert.equal(selector(chain(['IMG', '', 'foo bar'])), 'img.bar.foo');
  assert.equal(selector(chain(['DIV', 'main', 'x'])), '#main');
  assert.equal(selector(chain(['P', '', '  '])), 'p');
  assert.equal(selector(chain(['DIV', '', '\tb\n  a\fc\r'])), 'div.a.b.c');
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
});

test('selector of nothing, a detached node or a hostile object is empty or partial, never a throw', () => {
  assert.equal(selector(null), '');
  assert.equal(selector(undefined), '');
  assert.equal(selector({}), '');
  assert.equal(selector({ nodeType: 1, nodeName: 'B', id: { not: 'a string' }, getAttribute: () => 7, parentNode: null }), 'b');
  // A cycle ends after 100 steps at most, within the length limit.
  const a = { nodeType: 1, nodeName: 'A', id: '', getAttribute: () => null };
  a.parentNode = a;
  assert.equal(selector(a), Array(50).fill('a').join('>'));
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
