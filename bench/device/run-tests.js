#!/usr/bin/env node
// Runs the compiled test files (.device/js/test/*.test.js) under the tap shim,
// each in its own process, with the CUDA device present: every op test's
// device loop then covers 'cuda'. Writes $OUT/tests.json and prints a line per
// file. Usage: node bench/device/run-tests.js [substring filter]
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const dir = path.join(root, '.device', 'js', 'test');
const out = process.env.OUT || path.join(root, 'bench', 'results');
const filter = process.argv[2] || '';
// Packaging and build checks concern this machine's builds, not the GPU's.
const skip = new Set(['package.test.js', 'gyp-fallback.test.js', 'build.test.js', 'native.test.js', 'device-check.test.js', 'install-tools.test.js']);
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.test.js') && !skip.has(f) && f.includes(filter)).sort();

// A clean environment for the children: no loaders or tap settings inherited
// from a tap run (tap's process-info hook re-injects its loader into children
// while its variables are set, so they go from this process too).
for (const k of Object.keys(process.env)) if (/TAP/i.test(k) || k === 'NODE_OPTIONS') delete process.env[k];
const env = { ...process.env, CUDAGRAD_DEVICE: process.env.CUDAGRAD_DEVICE || 'cpu' };

const results = [];
let logText = '';
for (const f of files) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--expose-gc', '-r', path.join(__dirname, 'tap-shim.js'), path.join(dir, f)], {
    encoding: 'utf8',
    env,
    timeout: 300_000,
    maxBuffer: 1 << 28,
  });
  const text = `${r.stdout || ''}${r.stderr || ''}`;
  logText += `=== ${f}\n${text}\n`;
  const m = /# shim \{ pass: (\d+), fail: (\d+), skip: (\d+) \}/.exec(text);
  const res = { file: f, pass: m ? +m[1] : 0, fail: m ? +m[2] : 1, skip: m ? +m[3] : 0, status: r.status, seconds: (Date.now() - t0) / 1000 };
  // No summary, a failed exit or no assertion at all: count the file as failed.
  if (!m || r.status !== 0 || res.pass === 0) res.fail = Math.max(res.fail, 1);
  res.failures = text.split('\n').filter((l) => /^\s*not ok/.test(l)).slice(0, 10);
  results.push(res);
  console.log(`${res.fail ? 'FAIL' : 'ok  '} ${f.padEnd(28)} pass ${res.pass} fail ${res.fail} skip ${res.skip} (${res.seconds.toFixed(1)} s)`);
}
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'tests.json'), `${JSON.stringify(results, null, 2)}\n`);
fs.writeFileSync(path.join(out, 'tests.log'), logText);
const total = results.reduce((a, r) => ({ pass: a.pass + r.pass, fail: a.fail + r.fail, skip: a.skip + r.skip }), { pass: 0, fail: 0, skip: 0 });
console.log(`tests on ${process.env.CUDAGRAD_ADDON || 'the default addon'}: ${total.pass} passed, ${total.fail} failed, ${total.skip} skipped`);
process.exitCode = total.fail ? 1 : 0;
