// Size gate: the agent's transfer size (wasm + loader, brotli quality 11) must
// not exceed the budget in xtask/src/agent.rs (one source of truth; the build
// checks it too). Sizes are deterministic, so this may be a test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import { root } from './harness.mjs';

const dir = process.env.STRRAY_AGENT_DIR || path.join(root, 'target/agent-dist');
const budget = Number(/BROTLI_BUDGET_BYTES: u64 = ([\d_]+);/.exec(readFileSync(path.join(root, 'xtask/src/agent.rs'), 'utf8'))[1].replaceAll('_', ''));
const br = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: b.length } }).length;

test('agent wasm + loader stay within the brotli budget', () => {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const files = [manifest.loader, manifest.wasm];
  for (const f of files) assert.ok(readdirSync(dir).includes(f), `${f} built`);
  const sizes = files.map((f) => br(readFileSync(path.join(dir, f))));
  const total = sizes.reduce((a, b) => a + b, 0);
  console.log(`agent brotli-11: ${files.map((f, i) => `${f} ${sizes[i]}`).join(' + ')} = ${total} bytes (budget ${budget}; gate 20480, goal 14336)`);
  assert.ok(budget > 0 && budget < 64 * 1024, `budget parsed: ${budget}`);
  assert.ok(total <= budget, `agent is ${total} bytes brotli, budget ${budget}`);
});
