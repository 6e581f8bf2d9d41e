#!/usr/bin/env node
// CPU-vs-CUDA parity for bench/device-check.sh: every op that has a CUDA
// kernel, on random inputs of odd sizes, run on both devices and compared as
// max |cuda - cpu| / (atol + rtol |cpu|) (<= 1 passes). Ops without a CUDA
// kernel are listed as missing. The GEMM cases at 'medium' run once more in a
// child process with CUDAGRAD_GEMM_WGMMA=1 (read once per process), rows
// named *_medium_wgmma, missing where the wgmma kernel did not run (not sm_90,
// or no sm_90a code). Writes $OUT/parity.json.
'use strict';
const { spawnSync } = require('node:child_process');
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
  // exact GELU: the GPU's erfcf (4 ulp) vs the CPU's erfc fit (4e-7 absolute).
  ['gelu_exact', 1, (x) => cg.gelu(x, { approximate: 'none' }), 1e-6, 1e-5],
  ['tanh', 1, (x) => cg.tanh(x), 1e-6, 1e-5],
  ['sigmoid', 1, (x) => cg.sigmoid(x), 1e-6, 1e-5],
  ['gelu_backward', 2, (d, x) => activationBackward('gelu', d, x), 1e-6, 1e-5],
  ['gelu_exact_backward', 2, (d, x) => activationBackward('gelu_exact', d, x), 1e-6, 1e-5],
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
      // comparisons (native/cuda/compare.cu): flat, broadcast (column) and scalar paths; exact 1/0.
      ['eq', 2, (x, y) => cg.eq(cg.clamp(x, { min: -1, max: 1 }), cg.clamp(y, { min: -1, max: 1 })), 0, 0],
      ['eq_col', 2, (x, y) => cg.eq(x, col(y)), 0, 0],
      ['lt', 2, (x, y) => cg.lt(x, y), 0, 0],
      ['lt_bias', 2, (x, y) => cg.lt(x, row(y)), 0, 0],
      ['lt_scalar', 1, (x) => cg.lt(x, 0.5), 0, 0],
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
// The child run: only the GEMM block, at 'medium', with the wgmma kernel selected.
const wgmmaChild = process.env.PARITY_WGMMA === '1';

// Folds one output's comparison into r: err = |cuda - cpu| / tol(i) per element (<= 1 passes).
function compare(r, cpu, gpu, tol, where) {
  for (let i = 0; i < cpu.length; i++) {
    if (gpu[i] === cpu[i] || (Number.isNaN(gpu[i]) && Number.isNaN(cpu[i]))) continue;
    const err = Math.abs(gpu[i] - cpu[i]) / (tol(i) || Number.MIN_VALUE);
    if (!(err <= 1) && r.first === undefined) r.first = { ...where, index: i, cuda: gpu[i], cpu: cpu[i] };
    if (Number.isFinite(err)) r.worst = Math.max(r.worst, err);
  }
}

function report(r) {
  results.push(r);
  console.log(`  ${r.missing ? 'MISSING' : r.ok ? 'ok     ' : 'DIFFERS'} ${r.op.padEnd(16)} ${r.missing || `${r.cases} shapes, worst ${r.worst.toFixed(3)} of tolerance`}`);
}

for (const [name, arity, fn, atol, rtol] of wgmmaChild ? [] : ops) {
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
      compare(r, cpu, gpu, (i) => atol + rtol * Math.abs(cpu[i]), { shape });
      r.cases++;
    }
    r.ok = r.first === undefined;
  } catch (e) {
    r.missing = String(e.message || e);
  }
  report(r);
}
// --- normalisation family (softmax, layerNorm, crossEntropy, embedding, dropout, optimizers):
// own shapes (warp-per-row and block-per-row sizes, rows off 16-byte boundaries, the GPT-2
// vocabulary); each case builds its inputs on the CPU from fixed seeds, runs on both devices and
// compares every output. Tolerances as the test files (they cover the GPU's expf / logf).
if (!wgmmaChild) {
  const opsDir = path.dirname(require.resolve(process.env.CUDAGRAD_TEST_PKG || path.join(__dirname, '..', '..', 'dist')));
  const req = (m) => require(path.join(opsDir, 'ops', m));
  const { softmaxBackward, logSoftmaxBackward } = req('softmax');
  const { layerNormForward, layerNormBackward } = req('layernorm');
  const { crossEntropyBackward } = req('loss');
  const { embeddingBackward } = req('embedding');
  const { dropoutForward, dropoutBackward } = req('dropout');
  const rowShapes = [[7, 33], [5, 768], [3, 1024], [3, 1025], [2, 4099], [1, 50257]];
  const X = (shape, seed, dev, std = 3) => cg.randn(shape, { seed, std, device: 'cpu' }).to(dev);
  const idx = (n, V, seed, dev) => cg.tensor(Int32Array.from(cg.rand([n], { seed, device: 'cpu' }).toArray(), (u) => Math.min(V - 1, Math.floor(u * u * V))), { device: dev });
  const outs = (r) => (Array.isArray(r) ? r : [r]);
  const step = (kind) => (s, seed, dev) => {
    const n = s[0];
    const p = X([n], seed, dev);
    const m = cg.zeros([n], { device: dev });
    const v = cg.zeros([n], { device: dev });
    for (let k = 1; k <= 3; k++) {
      const g = X([n], seed + k, dev, 1);
      if (kind === 'sgd') cg.sgdStep(p, g, m, { lr: 0.1, momentum: 0.9, weightDecay: 0.01, firstStep: k === 1 });
      else cg.adamwStep(p, g, m, v, { step: k, lr: 1e-2 });
    }
    return [p, m, v];
  };
  const normCases = [
    ['softmax', [...rowShapes, [2, 7, 9], [4, 3, 70]], (s, seed, d) => cg.softmax(X(s, seed, d), -1, { causal: s.length === 3 && s[2] === 9 }), 1e-6, 1e-5],
    ['softmax (axis 1)', [[4, 3, 70], [2, 33, 5]], (s, seed, d) => cg.softmax(X(s, seed, d), 1), 1e-6, 1e-5],
    ['logSoftmax', rowShapes, (s, seed, d) => cg.logSoftmax(X(s, seed, d)), 2e-5, 1e-5],
    ['softmax_backward', rowShapes, (s, seed, d) => softmaxBackward(X(s, seed + 1, d), cg.softmax(X(s, seed, d))), 1e-5, 1e-4],
    ['logSoftmax_backward', rowShapes, (s, seed, d) => logSoftmaxBackward(X(s, seed + 1, d), cg.logSoftmax(X(s, seed, d))), 1e-5, 1e-4],
    ['layerNorm', rowShapes, (s, seed, d) => { const r = layerNormForward(X(s, seed, d), X([s[1]], seed + 1, d), X([s[1]], seed + 2, d)); return [r.out, r.mean, r.rstd]; }, 2e-5, 1e-5],
    ['layerNorm_backward', [...rowShapes, [300, 48]], (s, seed, d) => {
      const x = X(s, seed, d);
      const w = X([s[1]], seed + 1, d);
      const f = layerNormForward(x, w, null);
      const g = layerNormBackward(X(s, seed + 2, d, 1), x, w, f.mean, f.rstd);
      return [g.dx, g.dweight, g.dbias];
    }, 1e-4, 1e-4],
    ['crossEntropy', rowShapes, (s, seed, d) => [cg.crossEntropy(X(s, seed, d), idx(s[0], s[1], seed, d)), cg.crossEntropy(X(s, seed, d), idx(s[0], s[1], seed, d), { reduction: 'none' })], 1e-5, 1e-5],
    ['crossEntropy_backward', rowShapes, (s, seed, d) => crossEntropyBackward(0.5, X(s, seed, d), idx(s[0], s[1], seed, d)), 1e-6, 1e-4],
    ['embedding', [[33, 7, 50], [64, 768, 5000]], (s, seed, d) => cg.embedding(idx(s[0], s[2], seed, d), X([s[2], s[1]], seed, d)), 0, 0],
    ['embedding_backward', [[300, 7, 50], [64, 768, 5000]], (s, seed, d) => embeddingBackward(X([s[0], s[1]], seed, d), idx(s[0], s[2], seed, d), s[2]), 1e-5, 1e-5],
    ['dropout', [[1], [7], [257], [1000003]], (s, seed, d) => [dropoutForward(X(s, seed, d), 0.3, { seed }).out, dropoutBackward(X(s, seed + 1, d), 0.3, seed, 1n << 32n)], 0, 0],
    ['sgdStep', [[7], [4099], [1000003]], step('sgd'), 1e-6, 1e-5],
    ['adamwStep', [[7], [4099], [1000003]], step('adamw'), 1e-6, 1e-5],
    ['gradNorm', [[7], [1000003]], (s, seed, d) => { const ts = [X(s, seed, d), X([33], seed + 1, d)]; const n = cg.gradNorm(ts); const c = cg.clipGradNorm(ts, 1); return [cg.tensor([n, c]), ...ts]; }, 0, 1e-6],
  ];
  for (const [name, shapes, fn, atol, rtol] of normCases) {
    const r = { op: name, cases: 0, worst: 0 };
    try {
      for (const shape of shapes) {
        seed++;
        const cpu = outs(fn(shape, seed, 'cpu')).map((t) => t.toArray());
        const gpu = outs(fn(shape, seed, 'cuda')).map((t) => t.toArray());
        cpu.forEach((c, k) => compare(r, c, gpu[k], (i) => atol + rtol * Math.abs(c[i]), { shape, output: k }));
        r.cases++;
      }
      r.ok = r.first === undefined;
    } catch (e) {
      r.missing = String(e.message || e);
    }
    report(r);
  }
}
// --- attention: forward (out, lse) and backward (dq, dk, dv), CPU vs CUDA at each matmul precision, odd sizes
// straddling the tiles, causal with Tq < Tk and Tq > Tk, int32 and float masks, head sizes 7, 64, 100, 160.
if (!wgmmaChild) {
  const { attentionForward, attentionBackward } = require(path.join(path.dirname(require.resolve(process.env.CUDAGRAD_TEST_PKG || path.join(__dirname, '..', '..', 'dist'))), 'ops', 'attention'));
  // [atol, rtol] for out/lse and for gradients (test/attention-ref.ts)
  const tols = { highest: [[1e-5, 1e-4], [3e-5, 3e-4]], high: [[5e-3, 5e-3], [1e-2, 1e-2]], medium: [[3e-2, 3e-2], [8e-2, 8e-2]] };
  const shapes = [[1, 3, 257, 250, 64, true, 'int'], [2, 2, 33, 129, 7, true, 'float'], [1, 2, 130, 65, 100, true, null], [2, 1, 100, 300, 64, false, 'float'], [1, 1, 37, 41, 160, true, 'int']];
  // One case on both devices: out, lse, dq, dk, dv as arrays, { cpu, gpu }; q, k, v, dout of `dtype`.
  const attentionPair = ([B, H, Tq, Tk, D, causal, mk], caseSeed, dtype) => {
    const [qc, kc, vc, dc] = [[B, H, Tq, D], [B, H, Tk, D], [B, H, Tk, D], [B, H, Tq, D]].map((sh, i) => cg.randn(sh, { seed: caseSeed * 10 + i, device: 'cpu', dtype }));
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
    return { cpu: run('cpu'), gpu: run('cuda') };
  };
  const before = cg.getMatmulPrecision();
  for (const prec of ['highest', 'high', 'medium']) {
    const r = { op: `attention_${prec}`, cases: 0, worst: 0 };
    try {
      cg.setMatmulPrecision(prec);
      for (const sh of shapes) {
        const [B, H, Tq, Tk, D] = sh;
        seed++;
        const { cpu, gpu } = attentionPair(sh, seed, 'float32');
        cpu.forEach((want, n) => {
          const [atol, rtol] = tols[prec][n < 2 ? 0 : 1];
          compare(r, want, gpu[n], (i) => atol + rtol * Math.abs(want[i]), { shape: [B, H, Tq, Tk, D], output: ['out', 'lse', 'dq', 'dk', 'dv'][n] });
        });
        r.cases++;
      }
      r.ok = r.first === undefined;
    } catch (e) {
      r.missing = String(e.message || e);
    } finally {
      cg.setMatmulPrecision(before);
    }
    report(r);
  }
  // bf16 tensors: the CPU's float32 kernels rounded once vs the CUDA tensor-core kernels reading bf16
  // (P, dS rounded to bf16 too). Tolerance: test/attention-bf16.test.ts's bounds for both devices
  // summed, x4 for randn values (|v| up to ~4 where the test's are <= 1).
  const r = { op: 'attention_bf16', cases: 0, worst: 0 };
  try {
    const bt = [[4 * (2 ** -8 + 1e-5), 2 * 2 ** -8 + 2e-4], [4 * 1.2e-2, 3 * 2 ** -8 + 3e-4]];
    for (const sh of shapes) {
      const [B, H, Tq, Tk, D, causal, mk] = sh;
      seed++;
      // The int mask as in the float32 rows; no float mask here.
      const { cpu, gpu } = attentionPair([B, H, Tq, Tk, D, causal, mk === 'int' ? mk : null], seed, 'bfloat16');
      cpu.forEach((want, n) => {
        const [atol, rtol] = n === 1 ? [1e-4, 1e-4] : bt[n === 0 ? 0 : 1];
        compare(r, want, gpu[n], (i) => atol + rtol * Math.abs(want[i]), { shape: [B, H, Tq, Tk, D], output: ['out', 'lse', 'dq', 'dk', 'dv'][n] });
      });
      r.cases++;
    }
    r.ok = r.first === undefined;
  } catch (e) {
    r.missing = String(e.message || e);
  }
  report(r);
}
// --- GEMM: matmul (2-D and broadcast-batched), linear with a bias, and linear's backward (dx, dweight,
// dbias), CPU vs CUDA at each matmul precision, odd sizes. Error bound per element as
// test/gemm-cuda.test.ts: (input rounding + (8 sqrt(K) + 8) 2^-24) * sum_k |a_ik| |b_kj|.
{
  const { linearBackward } = require(path.join(path.dirname(require.resolve(process.env.CUDAGRAD_TEST_PKG || path.join(__dirname, '..', '..', 'dist'))), 'ops', 'matmul'));
  const rounding = { highest: 0, high: 2 * 2 ** -11, medium: 2 * 2 ** -8 };
  const abs = (x) => cg.sqrt(cg.mul(x, x));
  const T = (x) => cg.transpose(x, -2, -1);
  // Each case: its inputs (CPU), then [output, |output| bound, K] triples from a device's inputs.
  const gemmCases = [
    ['matmul', [[33, 17], [17, 65]], ([a, b]) => [[cg.matmul(a, b), cg.matmul(abs(a), abs(b)), 17]]],
    ['matmul_batched', [[3, 64, 130], [130, 31]], ([a, b]) => [[cg.matmul(a, b), cg.matmul(abs(a), abs(b)), 130]]],
    ['matmul_big', [[257, 300], [300, 129]], ([a, b]) => [[cg.matmul(a, b), cg.matmul(abs(a), abs(b)), 300]]],
    ['linear', [[37, 96], [70, 96], [70]], ([x, w, b]) => [[cg.linear(x, w, b), cg.add(cg.matmul(abs(x), T(abs(w))), abs(b)), 97]]],
    ['linear_backward', [[45, 70], [45, 96], [70, 96]], ([d, x, w]) => {
      const g = linearBackward(d, x, w, true);
      return [[g.dx, cg.matmul(abs(d), abs(w)), 70], [g.dweight, cg.matmul(T(abs(d)), abs(x)), 45], [g.dbias, cg.sum(abs(d), 0), 45]];
    }],
  ];
  const before = cg.getMatmulPrecision();
  const launches0 = cg.cuda.gemmLaunches().wgmma;
  for (const prec of wgmmaChild ? ['medium'] : ['highest', 'high', 'medium']) {
    for (const [name, shapes, fn] of gemmCases) {
      const r = { op: `${name}_${prec}${wgmmaChild ? '_wgmma' : ''}`, cases: 0, worst: 0 };
      try {
        seed++;
        const ins = shapes.map((sh, i) => cg.randn(sh, { seed: seed * 10 + i, device: 'cpu' }));
        cg.setMatmulPrecision('highest');
        const cpu = fn(ins).map(([o, bound, K]) => [o.toArray(), bound.toArray(), K]);
        cg.setMatmulPrecision(prec);
        const gpu = fn(ins.map((x) => x.to('cuda'))).map(([o]) => o.toArray());
        cpu.forEach(([want, bound, K], n) => {
          const f = rounding[prec] + (8 * Math.sqrt(K) + 8) * 2 ** -24;
          compare(r, want, gpu[n], (i) => f * bound[i] + 1e-30, { output: n });
        });
        r.cases++;
        r.ok = r.first === undefined;
      } catch (e) {
        // The wgmma child's ops all exist: an error there is the kernel failing.
        if (wgmmaChild) Object.assign(r, { ok: false, first: { error: String(e.message || e) } });
        else r.missing = String(e.message || e);
      } finally {
        cg.setMatmulPrecision(before);
      }
      report(r);
    }
  }
  if (wgmmaChild && cg.cuda.gemmLaunches().wgmma === launches0)
    for (const r of results) if (r.ok) Object.assign(r, { ok: undefined, missing: 'the wgmma GEMM did not run (it needs an sm_90 device and sm_90a code in the addon)' });
}
fs.mkdirSync(out, { recursive: true });
if (wgmmaChild) {
  fs.writeFileSync(path.join(out, 'parity-wgmma.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.exit(0);
}
{
  // The GEMM once more on the wgmma kernel (a child: the selection is read once per process).
  const file = path.join(out, 'parity-wgmma.json');
  fs.rmSync(file, { force: true });
  const child = spawnSync(process.execPath, [__filename], { env: { ...process.env, PARITY_WGMMA: '1', CUDAGRAD_GEMM_WGMMA: '1' }, encoding: 'utf8', timeout: 20_000 });
  process.stdout.write(child.stdout || '');
  if (fs.existsSync(file)) results.push(...JSON.parse(fs.readFileSync(file, 'utf8')));
  else report({ op: 'gemm_medium_wgmma', cases: 0, worst: 0, ok: false, first: { error: `child exit ${child.status} ${child.signal || ''}: ${(child.stderr || '').slice(-500)}` } });
}
fs.writeFileSync(path.join(out, 'parity.json'), `${JSON.stringify(results, null, 2)}\n`);
process.exitCode = results.some((r) => r.ok === false) ? 1 : 0;
