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
  // elementwise, reductions, shape ops (native/cuda/{elementwise,reduce,shape}.cu). Broadcast
  // operands are slices of the inputs: [1, ...] (bias-like), [..., 1] (column), [1] (scalar).
  ...(() => {
    const opsDir = path.join(path.dirname(require.resolve(process.env.CUDAGRAD_TEST_PKG || path.join(__dirname, '..', '..', 'dist'))), 'ops');
    const { binaryBackward, unaryBackward, clampBackward } = require(path.join(opsDir, 'elementwise'));
    const { reduceBackward } = require(path.join(opsDir, 'reduce'));
    const { gatherBackward, sliceBackward } = require(path.join(opsDir, 'shape'));
    const row = (y) => cg.slice(y, 0, 0, 1); // [1, ...]: broadcast over the first dim
    const col = (y) => cg.slice(y, -1, 0, 1); // [..., 1]: broadcast over the last dim
    const pos = (x) => cg.add(cg.sqrt(cg.mul(x, x)), 0.5); // positive inputs for log, sqrt, pow
    const idx = (x, axis) => cg.tensor(Int32Array.from({ length: x.size }, (_, i) => (i * 7919) % x.shape[axis]), { shape: x.shape, device: x.device });
    const last = (x) => x.shape.length - 1;
    return [
      ['add', 2, (x, y) => cg.add(x, y), 0, 0],
      ['add_bias', 2, (x, y) => cg.add(x, row(y)), 0, 0],
      ['mul_col', 2, (x, y) => cg.mul(x, col(y)), 0, 0],
      ['div_scalar_tensor', 2, (x, y) => cg.div(x, cg.add(cg.slice(y.reshape([-1]), 0, 0, 1), 9)), 1e-6, 1e-6],
      ['pow', 2, (x, y) => cg.pow(pos(x), y), 1e-6, 1e-5],
      ['pow_scalar', 1, (x) => cg.pow(x, 3), 1e-6, 1e-6],
      ['mul_backward_bias', 3, (d, x, y) => binaryBackward('mul', d, x, row(y)).db, 5e-2, 1e-5],
      ['div_backward_col', 3, (d, x, y) => binaryBackward('div', d, x, cg.add(pos(col(y)), 1)).db, 5e-2, 1e-5],
      ['pow_backward', 3, (d, x, y) => binaryBackward('pow', d, pos(x), y).db, 1e-5, 1e-4],
      ['exp', 1, (x) => cg.exp(x), 1e-6, 1e-5],
      ['log', 1, (x) => cg.log(pos(x)), 1e-6, 1e-5],
      ['sqrt_backward', 2, (d, x) => unaryBackward('sqrt', d, pos(x)), 1e-6, 1e-5],
      ['clamp', 1, (x) => cg.clamp(x, { min: -1, max: 2 }), 0, 0],
      ['clamp_backward', 2, (d, x) => clampBackward(d, x, { min: -1, max: 2 }), 0, 0],
      ['sum_all', 1, (x) => cg.sum(x), 1e-2, 1e-5],
      ['sum_last', 1, (x) => cg.sum(x, -1), 1e-2, 1e-5],
      ['mean_first', 1, (x) => cg.mean(x, 0), 1e-5, 1e-5],
      ['max_last', 1, (x) => cg.max(x, -1), 0, 0],
      ['argmax_first', 1, (x) => cg.argmax(x, 0), 0, 0],
      ['max_backward', 2, (d, x) => reduceBackward('max', cg.max(d, 0), x, 0), 0, 0],
      ['mean_backward', 2, (d, x) => reduceBackward('mean', cg.mean(d, -1), x, -1), 1e-6, 1e-5],
      ['transpose', 1, (x) => cg.transpose(x, 0, -1), 0, 0],
      ['permute_reverse', 1, (x) => cg.permute(x, x.shape.map((_, d) => x.shape.length - 1 - d)), 0, 0],
      ['slice', 1, (x) => cg.slice(x, -1, 1, -2), 0, 0],
      ['slice_backward', 1, (x) => sliceBackward(cg.slice(x, 0, 1), x.shape, 0, 1), 0, 0],
      ['concat', 2, (x, y) => cg.concat([x, y, x], -1), 0, 0],
      ['gather', 1, (x) => cg.gather(x, last(x), idx(x, last(x))), 0, 0],
      ['gather_backward', 2, (d, x) => gatherBackward(d, idx(x, 0), 0, x.shape), 1e-5, 1e-5],
    ];
  })(),
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
