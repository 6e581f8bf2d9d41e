#!/usr/bin/env node
// Gathers $OUT/{tests,parity,bench,gpt}.json into $OUT/device-check.json and
// prints the short table that ends bench/device-check.sh's output.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const out = process.env.OUT || path.join(__dirname, '..', 'results');
const read = (f) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(out, f), 'utf8'));
  } catch {
    return null;
  }
};
const tests = read('tests.json') || [];
const parity = read('parity.json') || [];
const bench = read('bench.json') || { results: [] };
const gpt = read('gpt.json');
const sum = tests.reduce((a, r) => ({ pass: a.pass + r.pass, fail: a.fail + r.fail, skip: a.skip + r.skip }), { pass: 0, fail: 0, skip: 0 });
const report = { date: new Date().toISOString(), command: process.env.DEVICE_CHECK_COMMAND || 'bash bench/device-check.sh', tests: sum, testFiles: tests, parity, bench, gpt };
fs.writeFileSync(path.join(out, 'device-check.json'), `${JSON.stringify(report, null, 2)}\n`);

const f = (v, d = 1) => (v === undefined || v === null ? '-' : v.toFixed(d));
console.log('\n=== device-check summary');
console.log(`device: ${bench.device ? `${bench.device.name} (sm_${bench.device.computeCapability.replace('.', '')})` : '?'}`);
console.log(`tests on CUDA: ${sum.pass} passed, ${sum.fail} failed, ${sum.skip} skipped`);
console.log(`parity: ${parity.filter((p) => p.ok).length} ok, ${parity.filter((p) => p.ok === false).length} differ, ${parity.filter((p) => p.missing).length} missing`);
console.log(`copy bandwidth (torch D2D): ${f(bench.copy_gbs)} GB/s; dispatch overhead: ${f(bench.dispatch_overhead_us, 2)} us/op`);
console.log(`${'kernel'.padEnd(18)} ${'unit'.padEnd(8)} ${'cudagrad'.padStart(9)} ${'torch'.padStart(9)} ${'x torch'.padStart(8)} ${'of copy'.padStart(8)}`);
for (const r of bench.results) {
  if (r.missing) {
    console.log(`${r.id.padEnd(18)} missing: ${r.missing.slice(0, 60)}`);
    continue;
  }
  console.log(`${r.id.padEnd(18)} ${r.unit.padEnd(8)} ${f(r.cudagrad_rate).padStart(9)} ${f(r.torch_rate).padStart(9)} ${f(r.vs_torch, 2).padStart(8)} ${r.of_copy ? `${(100 * r.of_copy).toFixed(0)}%`.padStart(8) : '-'.padStart(8)}`);
}
if (gpt) {
  const c = gpt.config;
  const line = (name, r) => console.log(`${name.padEnd(16)} ${r.error ? `failed: ${r.error.split('\n')[0].slice(0, 60)}` : `${Math.round(r.tokens_per_s)} tokens/s, ${f(r.step_ms)} ms/step, MFU ${f(100 * r.mfu)}%`}`);
  console.log(`GPT ${c.nLayer} layers x ${c.nEmbd}, batch ${c.batch} x ${c.blockSize} (bf16 autocast):`);
  line('cudagrad', gpt.cudagrad);
  for (const [v, r] of Object.entries(gpt.torch)) line(`torch ${v}`, r);
  if (gpt.vs_best_torch) console.log(`cudagrad / best torch: ${f(gpt.vs_best_torch, 2)}`);
}
