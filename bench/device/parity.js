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
// --- attention: forward (out, lse) and backward (dq, dk, dv), CPU vs CUDA at each matmul precision, odd sizes
// straddling the tiles, causal with Tq < Tk and Tq > Tk, int32 and float masks, head sizes 7, 64, 100, 160.
{
  const { attentionForward, attentionBackward } = require(path.join(path.dirname(require.resolve(process.env.CUDAGRAD_TEST_PKG || path.join(__dirname, '..', '..', 'dist'))), 'ops', 'attention'));
  // [atol, rtol] for out/lse and for gradients (test/attention-ref.ts)
  const tols = { highest: [[1e-5, 1e-4], [3e-5, 3e-4]], high: [[5e-3, 5e-3], [1e-2, 1e-2]], medium: [[3e-2, 3e-2], [8e-2, 8e-2]] };
  const shapes = [[1, 3, 257, 250, 64, true, 'int'], [2, 2, 33, 129, 7, true, 'float'], [1, 2, 130, 65, 100, true, null], [2, 1, 100, 300, 64, false, 'float'], [1, 1, 37, 41, 160, true, 'int']];
  const before = cg.getMatmulPrecision();
  for (const prec of ['highest', 'high', 'medium']) {
    const r = { op: `attention_${prec}`, cases: 0, worst: 0 };
    try {
      cg.setMatmulPrecision(prec);
      for (const [B, H, Tq, Tk, D, causal, mk] of shapes) {
        seed++;
        const [qc, kc, vc, dc] = [[B, H, Tq, D], [B, H, Tk, D], [B, H, Tk, D], [B, H, Tq, D]].map((sh, i) => cg.randn(sh, { seed: seed * 10 + i, device: 'cpu' }));
        let mask = null;
        if (mk === 'int') mask = cg.tensor(Int32Array.from({ length: B * Tk }, (_, j) => (j % 7 === 3 ? 0 : 1)), { shape: [B, Tk] });
        if (mk === 'float') mask = cg.tensor(Float32Array.from({ length: B * Tk }, (_, j) => (j % 7 === 3 ? -Infinity : -0.1 * (j % 3))), { shape: [B, Tk] });
        const run = (dev) => {
          const [qq, kk, vv, dd] = [qc, kc, vc, dc].map((x) => x.to(dev));
          const opts = { causal, mask: mask && mask.to(dev) };
          const f = attentionForward(qq, kk, vv, opts);
          const g = attentionBackward(dd, qq, kk, vv, f.out, f.lse, opts);
          return [f.out, f.lse, g.dq, g.dk, g.dv].map((x) => x.toArray());
        };
        const cpu = run('cpu');
        const gpu = run('cuda');
        cpu.forEach((want, n) => {
          const [atol, rtol] = tols[prec][n < 2 ? 0 : 1];
          for (let i = 0; i < want.length; i++) {
            if (gpu[n][i] === want[i]) continue;
            const err = Math.abs(gpu[n][i] - want[i]) / (atol + rtol * Math.abs(want[i]));
            if (!(err <= 1) && r.first === undefined) r.first = { shape: [B, H, Tq, Tk, D], output: ['out', 'lse', 'dq', 'dk', 'dv'][n], index: i, cuda: gpu[n][i], cpu: want[i] };
            if (Number.isFinite(err)) r.worst = Math.max(r.worst, err);
          }
        });
        r.cases++;
      }
      r.ok = r.first === undefined;
    } catch (e) {
      r.missing = String(e.message || e);
    } finally {
      cg.setMatmulPrecision(before);
    }
    results.push(r);
    console.log(`  ${r.missing ? 'MISSING' : r.ok ? 'ok     ' : 'DIFFERS'} ${r.op.padEnd(16)} ${r.missing || `${r.cases} shapes, worst ${r.worst.toFixed(3)} of tolerance`}`);
  }
}
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'parity.json'), `${JSON.stringify(results, null, 2)}\n`);
process.exitCode = results.some((r) => r.ok === false) ? 1 : 0;
