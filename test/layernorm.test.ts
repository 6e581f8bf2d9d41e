// LayerNorm forward and backward: float64 oracle at every SIMD level and on
// every device (with and without weight/bias, odd sizes, rows with a large
// mean, many rows so the backward's per-task / per-block partials are summed;
// CUDA: warp-per-row and block-per-row sizes), finite differences, bad input.
import t from 'tap';
import type { Test } from 'tap';

import * as cg from '../lib/index';
import { layerNormBackward, layerNormForward } from '../lib/ops/layernorm';
import { assertClose, dot, f32, forEachSimd, numericGrad, ODD_SIZES, testDevices, uniform } from './oracle';

interface Ref {
  out: Float64Array;
  mean: Float64Array;
  rstd: Float64Array;
}

function refForward(x: ArrayLike<number>, w: ArrayLike<number> | null, b: ArrayLike<number> | null, N: number, C: number, eps: number): Ref {
  const out = new Float64Array(N * C);
  const mean = new Float64Array(N);
  const rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let c = 0; c < C; c++) m += x[n * C + c];
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[n * C + c] - m) ** 2;
    v /= C;
    const rs = 1 / Math.sqrt(v + eps);
    mean[n] = m;
    rstd[n] = rs;
    for (let c = 0; c < C; c++) out[n * C + c] = (x[n * C + c] - m) * rs * (w ? w[c] : 1) + (b ? b[c] : 0);
  }
  return { out, mean, rstd };
}

function refBackward(d: ArrayLike<number>, x: ArrayLike<number>, w: ArrayLike<number> | null, mean: ArrayLike<number>, rstd: ArrayLike<number>, N: number, C: number) {
  const dx = new Float64Array(N * C);
  const dw = new Float64Array(C);
  const db = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const norm = (c: number) => (x[n * C + c] - mean[n]) * rstd[n];
    const g = (c: number) => d[n * C + c] * (w ? w[c] : 1);
    let a = 0;
    let bb = 0;
    for (let c = 0; c < C; c++) {
      a += g(c);
      bb += g(c) * norm(c);
    }
    a /= C;
    bb /= C;
    for (let c = 0; c < C; c++) {
      dx[n * C + c] = (g(c) - a - norm(c) * bb) * rstd[n];
      dw[c] += d[n * C + c] * norm(c);
      db[c] += d[n * C + c];
    }
  }
  return { dx, dw, db };
}

function check(t: Test, N: number, C: number, hasW: boolean, hasB: boolean, seed: number, offset = 0, device: cg.Device = 'cpu'): void {
  const xv = uniform(N * C, seed, -3, 3).map((v, i) => Math.fround(v + offset + (i % C === 0 ? 0.5 : 0)));
  const wv = hasW ? uniform(C, seed + 1, 0.5, 2) : null;
  const bv = hasB ? uniform(C, seed + 2, -1, 1) : null;
  const dv = uniform(N * C, seed + 3, -1, 1);
  const eps = 1e-5;
  const label = `${device === 'cpu' ? '' : `${device} `}N=${N} C=${C}${hasW ? ' weight' : ''}${hasB ? ' bias' : ''}${offset ? ` mean ${offset}` : ''}`;
  const ref = refForward(xv, wv, bv, N, C, eps);
  const got = layerNormForward(f32(xv, [N, C], device), wv && f32(wv, [C], device), bv && f32(bv, [C], device), eps);
  assertClose(t, got.out.toArray(), ref.out, 2e-5, 1e-5, `forward out ${label}`);
  assertClose(t, got.mean.toArray(), ref.mean, 1e-6, 1e-6, `forward mean ${label}`);
  assertClose(t, got.rstd.toArray(), ref.rstd, 0, 1e-5, `forward rstd ${label}`);
  if (offset) return; // backward takes float32 statistics; a large mean loses digits there by construction
  // Backward fed the float64 statistics (rounded to float32), compared with the float64 gradients.
  const g = layerNormBackward(f32(dv, [N, C], device), f32(xv, [N, C], device), wv && f32(wv, [C], device), f32(ref.mean, [N], device), f32(ref.rstd, [N], device));
  const r = refBackward(dv, xv, wv, Float32Array.from(ref.mean), Float32Array.from(ref.rstd), N, C);
  assertClose(t, g.dx.toArray(), r.dx, 2e-5, 1e-4, `backward dx ${label}`);
  assertClose(t, g.dweight.toArray(), r.dw, 1e-4 * Math.sqrt(N), 1e-4, `backward dweight ${label}`);
  assertClose(t, g.dbias.toArray(), r.db, 1e-4 * Math.sqrt(N), 1e-4, `backward dbias ${label}`);
}

t.test('forward and backward match the float64 reference at every SIMD level', (t) =>
  forEachSimd(t, (t) => {
    let seed = 1;
    for (const C of ODD_SIZES) for (const N of [1, 7, 33]) check(t, N, C, true, true, (seed += 4));
    for (const [w, b] of [[false, false], [true, false], [false, true]]) check(t, 5, 33, w, b, (seed += 4));
    check(t, 3, 1024, true, true, (seed += 4));
    check(t, 1000, 48, true, true, (seed += 4)); // several backward tasks
    check(t, 7, 257, true, true, (seed += 4), 1e4); // large mean: no cancellation
    check(t, 3, 33, false, false, (seed += 4), -3e5);
  }),
);

// CUDA: warp-per-row register slots (C <= 1024, float4 when C % 4 == 0), block-per-row rows
// (C > 1024, single-pass shifted statistics; rows off a 16-byte boundary when C % 4 != 0), and
// enough rows for several backward blocks. Same tolerances as the CPU (no transcendental
// functions here: IEEE sqrt and division on the GPU as in the emulator).
t.test('every device matches the float64 reference (CUDA when present)', async (t) => {
  for (const device of testDevices()) {
    let seed = 300;
    for (const C of [1, 7, 33, 100, 257, 768, 1024]) for (const N of [1, 7]) check(t, N, C, true, true, (seed += 4), 0, device);
    for (const [w, b] of [[false, false], [true, false], [false, true]]) check(t, 5, 33, w, b, (seed += 4), 0, device);
    for (const [w, b] of [[false, false], [true, false]]) check(t, 3, 1500, w, b, (seed += 4), 0, device);
    check(t, 3, 1025, true, true, (seed += 4), 0, device);
    check(t, 2, 5000, true, true, (seed += 4), 0, device);
    check(t, 300, 48, true, true, (seed += 4), 0, device); // many backward blocks
    check(t, 70, 1100, true, true, (seed += 4), 0, device); // block rows, several rows a block
    check(t, 7, 257, true, true, (seed += 4), 1e4, device); // large mean: no cancellation
    check(t, 3, 2001, true, true, (seed += 4), -3e3, device);
  }
});

t.test('backward agrees with central finite differences', async (t) => {
  const N = 3;
  const C = 5;
  const xv = uniform(N * C, 7, -2, 2);
  const wv = uniform(C, 8, 0.5, 1.5);
  const bv = uniform(C, 9);
  const dv = uniform(N * C, 10);
  const loss = (x: Float64Array, w: Float64Array, b: Float64Array) => dot(cg.layerNorm(f32(x, [N, C]), f32(w, [C]), f32(b, [C])).toArray(), dv);
  const fwd = layerNormForward(f32(xv, [N, C]), f32(wv, [C]), f32(bv, [C]));
  const g = layerNormBackward(f32(dv, [N, C]), f32(xv, [N, C]), f32(wv, [C]), fwd.mean, fwd.rstd);
  assertClose(t, g.dx.toArray(), numericGrad((x) => loss(x, wv, bv), xv, 1e-2), 2e-3, 2e-2, 'dx analytic vs numeric');
  assertClose(t, g.dweight.toArray(), numericGrad((w) => loss(xv, w, bv), wv, 1e-2), 2e-3, 2e-2, 'dweight analytic vs numeric');
  assertClose(t, g.dbias.toArray(), numericGrad((b) => loss(xv, wv, b), bv, 1e-2), 2e-3, 2e-2, 'dbias analytic vs numeric');
  // Without weight and bias.
  const plain = (x: Float64Array) => dot(cg.layerNorm(f32(x, [N, C])).toArray(), dv);
  const f2 = layerNormForward(f32(xv, [N, C]));
  const g2 = layerNormBackward(f32(dv, [N, C]), f32(xv, [N, C]), null, f2.mean, f2.rstd);
  assertClose(t, g2.dx.toArray(), numericGrad(plain, xv, 1e-2), 2e-3, 2e-2, 'dx (no weight) analytic vs numeric');
});

t.test('shapes, special values, methods', async (t) => {
  // (2, 3, 4): statistics keep the leading dims.
  const x = cg.randn([2, 3, 4], { seed: 5 });
  const r = layerNormForward(x, cg.ones([4]), null, 1e-5);
  t.same(r.out.shape, [2, 3, 4]);
  t.same(r.mean.shape, [2, 3]);
  t.same(r.rstd.shape, [2, 3]);
  assertClose(t, x.layerNorm().toArray(), cg.layerNorm(x, null, null, 1e-5).toArray(), 0, 0, 'method = function');
  // C = 1 and constant rows: x - mean = 0, so out = bias; rstd = 1 / sqrt(eps).
  const c1 = layerNormForward(cg.tensor([[3], [-7]]), cg.tensor([2]), cg.tensor([0.25]), 0.01);
  t.same(Array.from(c1.out.toArray()), [0.25, 0.25]);
  assertClose(t, c1.rstd.toArray(), [10, 10], 0, 1e-6, 'rstd of a constant row');
  t.same(Array.from(cg.layerNorm(cg.full([2, 5], 4)).toArray()), new Array(10).fill(0));
  // Empty: no rows, or no columns.
  t.same(cg.layerNorm(cg.zeros([0, 8])).shape, [0, 8]);
  const e = layerNormForward(cg.zeros([3, 0]));
  t.same(Array.from(e.mean.toArray()), [0, 0, 0]);
  const ge = layerNormBackward(cg.zeros([3, 0]), cg.zeros([3, 0]), null, e.mean, e.rstd);
  t.same(ge.dweight.shape, [0]);
  t.same(layerNormBackward(cg.zeros([0, 2]), cg.zeros([0, 2]), null, cg.zeros([0]), cg.zeros([0])).dbias.toArray().length, 2);
  // 1-D input: one row.
  t.same(layerNormForward(cg.tensor([1, 2, 3])).mean.shape, []);
});

t.test('bad input', async (t) => {
  const x = cg.zeros([2, 4]);
  t.throws(() => cg.layerNorm(cg.zeros([2, 4], { dtype: 'int32' })), { name: 'TypeError', message: 'cudagrad.layerNorm: input must be float32, got int32 tensor of shape [2, 4]' });
  t.throws(() => cg.layerNorm(cg.tensor(1)), { name: 'RangeError', message: 'cudagrad.layerNorm: input must have at least 1 dim (..., C), got shape []' });
  t.throws(() => cg.layerNorm(x, cg.ones([5])), { name: 'RangeError', message: 'cudagrad.layerNorm: weight must have shape [4] (the input\'s last dim), got [5] for input shape [2, 4]' });
  t.throws(() => cg.layerNorm(x, null, cg.ones([1, 4])), { name: 'RangeError', message: 'cudagrad.layerNorm: bias must have shape [4] (the input\'s last dim), got [1, 4] for input shape [2, 4]' });
  t.throws(() => cg.layerNorm(x, null, null, -1), { name: 'RangeError', message: 'cudagrad.layerNorm: eps must be a finite number >= 0, got -1' });
  t.throws(() => cg.layerNorm(x, null, null, 'a' as never), { name: 'TypeError', message: "cudagrad.layerNorm: eps must be a number, got the string 'a'" });
  t.throws(() => cg.layerNorm(x, [1, 2, 3, 4] as never), { name: 'TypeError', message: 'cudagrad.layerNorm: weight must be a Tensor, got an array' });
  const f = layerNormForward(x);
  t.throws(() => layerNormBackward(cg.zeros([2, 5]), x, null, f.mean, f.rstd), { name: 'RangeError', message: 'cudagrad.layerNorm backward: dout has shape [2, 5] but input has shape [2, 4]' });
  t.throws(() => layerNormBackward(x, x, null, cg.zeros([4]), f.rstd), { name: 'RangeError', message: 'cudagrad.layerNorm backward: mean must have shape [2] for input shape [2, 4], got [4]' });
  t.throws(() => layerNormBackward(x, x, null, f.mean, cg.zeros([2, 1])), { name: 'RangeError', message: 'cudagrad.layerNorm backward: rstd must have shape [2] for input shape [2, 4], got [2, 1]' });
  t.throws(() => layerNormBackward(x, x, cg.ones([3]), f.mean, f.rstd), { name: 'RangeError', message: "cudagrad.layerNorm backward: weight must have shape [4] (the input's last dim), got [3] for input shape [2, 4]" });
});
