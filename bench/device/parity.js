#!/usr/bin/env node
// CPU-vs-CUDA parity for bench/device-check.sh: every op that has a CUDA
// kernel, on random inputs of odd sizes, run on both devices and compared as
// max |cuda - cpu| / (atol + rtol |cpu|) (<= 1 passes). Ops without a CUDA
// kernel are listed as missing. Writes $OUT/parity.json.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const cg = require(process.env.CUDAGRAD_TEST_PKG || path.join(__dirname, '..', '..', 'dist'));
const out = process.env.OUT || path.join(__dirname, '..', 'results');
const { activationBackward } = require(path.join(path.dirname(require.resolve(process.env.CUDAGRAD_TEST_PKG || path.join(__dirname, '..', '..', 'dist'))), 'ops', 'activation'));

const SIZES = [[1], [7], [33], [257], [1000003], [3, 5, 7]];
// name, number of inputs, fn(tensors) -> tensor, tolerance
const ops = [
  ['relu', 1, (x) => cg.relu(x), 0, 0],
  ['gelu', 1, (x) => cg.gelu(x), 1e-6, 1e-5],
  ['tanh', 1, (x) => cg.tanh(x), 1e-6, 1e-5],
  ['sigmoid', 1, (x) => cg.sigmoid(x), 1e-6, 1e-5],
  ['gelu_backward', 2, (d, x) => activationBackward('gelu', d, x), 1e-6, 1e-5],
  ['tanh_backward', 2, (d, x) => activationBackward('tanh', d, x), 1e-6, 1e-5],
  ['rand', 0, (shape, seed) => cg.rand(shape, { seed, device: 'cuda' }), 0, 0],
  ['randn', 0, (shape, seed) => cg.randn(shape, { seed, device: 'cuda' }), 0, 2.4e-7],
];

const results = [];
let seed = 1;
for (const [name, arity, fn, atol, rtol] of ops) {
  const r = { op: name, cases: 0, worst: 0 };
  try {
    for (const shape of SIZES) {
      seed++;
      let cpu;
      let gpu;
      if (arity === 0) {
        gpu = fn(shape, seed).toArray();
        cpu = (name === 'rand' ? cg.rand : cg.randn)(shape, { seed, device: 'cpu' }).toArray();
      } else {
        const ins = Array.from({ length: arity }, (_, i) => cg.randn(shape, { seed: seed * 10 + i, std: 3, device: 'cpu' }));
        cpu = fn(...ins).toArray();
        gpu = fn(...ins.map((t) => t.to('cuda'))).toArray();
      }
      for (let i = 0; i < cpu.length; i++) {
        const err = Math.abs(gpu[i] - cpu[i]) / (atol + rtol * Math.abs(cpu[i]) || Number.MIN_VALUE);
        const bad = !(err <= 1) && !(Number.isNaN(gpu[i]) && Number.isNaN(cpu[i])) && gpu[i] !== cpu[i];
        if (bad && r.first === undefined) r.first = { shape, index: i, cuda: gpu[i], cpu: cpu[i] };
        if (Number.isFinite(err)) r.worst = Math.max(r.worst, gpu[i] === cpu[i] ? 0 : err);
      }
      r.cases++;
    }
    r.ok = r.first === undefined;
  } catch (e) {
    r.missing = String(e.message || e);
  }
  results.push(r);
  console.log(`  ${r.missing ? 'MISSING' : r.ok ? 'ok     ' : 'DIFFERS'} ${name.padEnd(16)} ${r.missing || `${r.cases} shapes, worst ${r.worst.toFixed(3)} of tolerance`}`);
}
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'parity.json'), `${JSON.stringify(results, null, 2)}\n`);
process.exitCode = results.some((r) => r.ok === false) ? 1 : 0;
