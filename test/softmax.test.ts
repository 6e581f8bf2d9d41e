// Softmax and log-softmax forward and backward: float64 oracle at every SIMD
// level (last axis, other axes, causal mask) and on every device (CUDA: the
// warp-per-row sizes, the block-per-row long rows, column tiles), finite
// differences, special values, bad input.
import t from 'tap';
import type { Test } from 'tap';

import * as cg from '../lib/index';
import { logSoftmaxBackward, softmaxBackward } from '../lib/ops/softmax';
import { assertClose, dot, f32, forEachSimd, numericGrad, ODD_SIZES, testDevices, uniform } from './oracle';

// --- float64 reference over the (outer, C, inner) view; tq > 0: causal groups of tq rows (inner == 1).
interface View {
  outer: number;
  C: number;
  inner: number;
  tq: number;
}

function view(shape: number[], axis: number, causal = false): View {
  const a = axis < 0 ? axis + shape.length : axis;
  const prod = (s: number[]) => s.reduce((p, d) => p * d, 1);
  return { outer: prod(shape.slice(0, a)), C: shape[a], inner: prod(shape.slice(a + 1)), tq: causal ? shape[shape.length - 2] : 0 };
}

// Unmasked entries of a column: j < len.
function validLen(v: View, o: number): number {
  if (v.tq <= 0) return v.C;
  return Math.min(v.C, Math.max(0, (o % v.tq) + v.C - v.tq + 1));
}

// For each (outer, inner) column: fn(indices of the unmasked entries, indices of the masked ones).
function columns(v: View, fn: (idx: number[], masked: number[]) => void): void {
  for (let o = 0; o < v.outer; o++) {
    for (let k = 0; k < v.inner; k++) {
      const len = validLen(v, o);
      const idx: number[] = [];
      const masked: number[] = [];
      for (let c = 0; c < v.C; c++) (c < len ? idx : masked).push((o * v.C + c) * v.inner + k);
      fn(idx, masked);
    }
  }
}

function refSoftmax(x: ArrayLike<number>, v: View, log: boolean): Float64Array {
  const y = new Float64Array(x.length);
  columns(v, (idx, masked) => {
    for (const i of masked) y[i] = log && idx.length > 0 ? -Infinity : 0;
    if (idx.length === 0) return;
    const m = Math.max(...idx.map((i) => x[i]));
    const s = idx.reduce((a, i) => a + Math.exp(x[i] - m), 0);
    for (const i of idx) y[i] = log ? x[i] - m - Math.log(s) : Math.exp(x[i] - m) / s;
  });
  return y;
}

// Analytic gradients from the float64 forward output y.
function refBackward(d: ArrayLike<number>, y: ArrayLike<number>, v: View, log: boolean): Float64Array {
  const dx = new Float64Array(d.length);
  columns(v, (idx) => {
    if (log) {
      const s = idx.reduce((a, i) => a + d[i], 0);
      for (const i of idx) dx[i] = d[i] - Math.exp(y[i]) * s;
    } else {
      const s = idx.reduce((a, i) => a + d[i] * y[i], 0);
      for (const i of idx) dx[i] = y[i] * (d[i] - s);
    }
  });
  return dx;
}

interface Case {
  shape: number[];
  axis: number;
  causal?: boolean;
}

function check(t: Test, c: Case, seed: number, device: cg.Device = 'cpu'): void {
  const n = c.shape.reduce((a, b) => a * b, 1);
  const xv = uniform(n, seed, -8, 8);
  // One row far from zero: only max subtraction keeps exp finite.
  for (let i = 0; i < Math.min(n, 5); i++) xv[i] += 90;
  const dv = uniform(n, seed + 1, -2, 2);
  const v = view(c.shape, c.axis, c.causal);
  const x = f32(xv, c.shape, device);
  const dout = f32(dv, c.shape, device);
  const opts = { causal: c.causal ?? false };
  const label = `${device === 'cpu' ? '' : `${device} `}shape [${c.shape}] axis ${c.axis}${c.causal ? ' causal' : ''}`;
  for (const log of [false, true]) {
    const name = log ? 'logSoftmax' : 'softmax';
    const y = refSoftmax(xv, v, log);
    const got = (log ? cg.logSoftmax : cg.softmax)(x, c.axis, opts);
    assertClose(t, got.toArray(), y, log ? 2e-5 : 1e-6, 1e-5, `${name} forward ${label}`);
    const bwd = log ? logSoftmaxBackward : softmaxBackward;
    const dx = bwd(dout, f32(y, c.shape, device), c.axis, opts);
    assertClose(t, dx.toArray(), refBackward(dv, y, v, log), 1e-5, 1e-4, `${name} backward ${label}`);
  }
}

// Tap's Test type, without importing tap's internals.
const lastAxis: Case[] = [];
for (const C of ODD_SIZES) for (const rows of [1, 7, 33]) lastAxis.push({ shape: [rows, C], axis: -1 });
lastAxis.push({ shape: [3, 4099], axis: 1 }, { shape: [2, 3, 50], axis: 2 }, { shape: [5], axis: 0 });

const otherAxes: Case[] = [
  { shape: [7, 33], axis: 0 },
  { shape: [3, 7, 33], axis: 1 },
  { shape: [2, 5, 70], axis: -2 }, // two column tiles
  { shape: [257, 1, 3], axis: 0 },
  { shape: [4, 1, 7], axis: 1 }, // C = 1
];

const causal: Case[] = [
  { shape: [2, 7, 7], axis: -1, causal: true },
  { shape: [2, 5, 9], axis: -1, causal: true }, // Tq < Tk
  { shape: [9, 5], axis: -1, causal: true }, // Tq > Tk: fully masked rows
  { shape: [1, 33, 257], axis: -1, causal: true },
  { shape: [2, 3, 1, 1], axis: 3, causal: true },
];

t.test('forward and backward match the float64 reference at every SIMD level', (t) =>
  forEachSimd(t, (t) => {
    let seed = 10;
    for (const c of [...lastAxis, ...otherAxes, ...causal]) check(t, c, seed++);
  }),
);

// CUDA shapes: warp-per-row slots (C <= 32, 64, 128, 256, 512, 768, 1024; float4 when C % 4 == 0),
// block-per-row rows (C > 1024: 256, 512 and 1024 threads; rows starting off a 16-byte boundary
// when C % 4 != 0), column tiles of 32 (inner > 1). Tolerances as above: they cover the GPU's
// expf (2 ulp) as well as the emulator's libm.
const deviceCases: Case[] = [
  ...[1, 7, 33, 64, 100, 257, 768, 1024].map((C) => ({ shape: [5, C], axis: -1 })),
  { shape: [3, 1025], axis: -1 },
  { shape: [2, 4099], axis: -1 },
  { shape: [2, 5000], axis: 1 },
  { shape: [1, 17001], axis: -1 },
  { shape: [7, 33], axis: 0 },
  { shape: [2, 5, 70], axis: -2 },
  { shape: [257, 1, 3], axis: 0 },
  { shape: [4, 1, 7], axis: 1 },
  { shape: [2, 7, 7], axis: -1, causal: true },
  { shape: [9, 5], axis: -1, causal: true },
  { shape: [1, 33, 257], axis: -1, causal: true },
  { shape: [3, 1200], axis: -1, causal: true }, // block rows, masked tails
  { shape: [5, 3, 2000], axis: -1, causal: true },
];

t.test('every device matches the float64 reference (CUDA when present)', async (t) => {
  for (const device of testDevices()) {
    let seed = 500;
    for (const c of deviceCases) check(t, c, seed++, device);
  }
});

t.test('every device: -inf, NaN and huge values in short and long rows', async (t) => {
  for (const device of testDevices()) {
    for (const C of [3, 40, 1500]) {
      // Row 0: leading -inf (an online max starts at -inf); row 1: a NaN; row 2: all -inf; row 3: huge.
      const xv = uniform(4 * C, C, -5, 5);
      for (let c = 0; c < Math.ceil(C / 2); c++) xv[c] = -Infinity;
      xv[C + Math.floor(C / 3)] = NaN;
      for (let c = 0; c < C; c++) xv[2 * C + c] = -Infinity;
      for (let c = 0; c < C; c++) xv[3 * C + c] = c % 2 ? 1e30 : -1e30;
      const x = f32(xv, [4, C], device);
      for (const log of [false, true]) {
        const y = Array.from((log ? cg.logSoftmax : cg.softmax)(x).toArray());
        const want = refSoftmax(xv.subarray(0, C), { outer: 1, C, inner: 1, tq: 0 }, log);
        assertClose(t, y.slice(0, C), want, 1e-6, 1e-5, `${device} C=${C} ${log ? 'log' : ''}softmax with leading -inf`);
        t.ok(y.slice(C, 3 * C).every(Number.isNaN), `${device} C=${C}: a NaN row and an all -inf row are NaN`);
        const huge = refSoftmax(Float64Array.from(xv.subarray(3 * C)), { outer: 1, C, inner: 1, tq: 0 }, log);
        assertClose(t, y.slice(3 * C), huge, 1e-6, 1e-5, `${device} C=${C} huge logits`);
      }
    }
  }
});

t.test('backward agrees with central finite differences', async (t) => {
  const cases: Case[] = [
    { shape: [2, 5], axis: -1 },
    { shape: [3, 4], axis: 0 },
    { shape: [2, 3, 4], axis: 1 },
    { shape: [4, 3], axis: -1, causal: true }, // includes a fully masked row
    { shape: [3, 5], axis: -1, causal: true },
  ];
  let seed = 100;
  for (const c of cases) {
    const n = c.shape.reduce((a, b) => a * b, 1);
    const xv = uniform(n, seed++, -2, 2);
    const w = uniform(n, seed++);
    const opts = { causal: c.causal ?? false };
    for (const log of [false, true]) {
      const fwd = log ? cg.logSoftmax : cg.softmax;
      // Masked log-softmax outputs are -inf constants: leave them out of the loss.
      const loss = (x: Float64Array) => dot(Array.from(fwd(f32(x, c.shape), c.axis, opts).toArray(), (v) => (v === -Infinity ? 0 : v)), w);
      const num = numericGrad(loss, xv, 1e-2);
      const y = fwd(f32(xv, c.shape), c.axis, opts);
      const got = (log ? logSoftmaxBackward : softmaxBackward)(f32(w, c.shape), y, c.axis, opts).toArray();
      assertClose(t, got, num, 1e-3, 1e-2, `${log ? 'logSoftmax' : 'softmax'} [${c.shape}] axis ${c.axis}${c.causal ? ' causal' : ''}: analytic vs numeric`);
    }
  }
});

t.test('special values, shapes and methods', async (t) => {
  // Huge logits: no overflow.
  assertClose(t, cg.softmax(cg.tensor([1000, 1001, -1e30])).toArray(), [1 / (1 + Math.E), Math.E / (1 + Math.E), 0], 1e-7, 1e-6, 'large logits');
  assertClose(t, cg.logSoftmax(cg.tensor([1000, 1000])).toArray(), [-Math.LN2, -Math.LN2], 1e-7, 1e-6, 'large logits, log');
  // -inf entries are probability 0; a NaN poisons its row only (as PyTorch).
  const y = Array.from(cg.softmax(cg.tensor([[0, -Infinity, 0], [1, NaN, 2]])).toArray());
  t.same(y.slice(0, 3), [0.5, 0, 0.5]);
  t.ok(y.slice(3).every(Number.isNaN), 'NaN row');
  t.same(Array.from(cg.logSoftmax(cg.tensor([0, -Infinity])).toArray()), [0, -Infinity]);
  // Fully masked rows (Tq > Tk): zeros, never NaN, forward and backward.
  const x = cg.randn([4, 2], { seed: 3 });
  t.same(Array.from(cg.softmax(x, { causal: true }).toArray()).slice(0, 4), [0, 0, 0, 0]);
  // Rows 0 and 1 fully masked, row 2 keeps j = 0 only, row 3 keeps both.
  t.same(Array.from(cg.logSoftmax(x, { causal: true }).toArray()).slice(0, 6), [0, 0, 0, 0, 0, -Infinity]);
  const ly = cg.logSoftmax(x, { causal: true });
  t.same(Array.from(logSoftmaxBackward(cg.ones([4, 2]), ly, { causal: true }).toArray()).slice(0, 6), [0, 0, 0, 0, 0, 0]);
  // Shapes: 0-d, empty, size-1 axis; Tensor methods; axis given with options.
  t.same(Array.from(cg.softmax(cg.tensor(5)).toArray()), [1]);
  t.same(cg.tensor(5).softmax().shape, []);
  t.same(cg.softmax(cg.zeros([0, 4])).shape, [0, 4]);
  t.same(cg.logSoftmax(cg.zeros([3, 0]), 0).shape, [3, 0]);
  t.same(Array.from(cg.zeros([2, 1]).logSoftmax().toArray()), [0, 0]);
  t.same(Array.from(cg.zeros([1, 2]).softmax(0).toArray()), [1, 1]);
  assertClose(t, cg.zeros([2, 2]).softmax(-1, { causal: true }).toArray(), [1, 0, 0.5, 0.5], 0, 0, 'method with axis and causal');
});

t.test('bad input', async (t) => {
  t.throws(() => cg.softmax(cg.tensor([1], { dtype: 'int32' })), { name: 'TypeError', message: 'cudagrad.softmax: input must be float32, got int32 tensor of shape [1]' });
  t.throws(() => cg.logSoftmax(cg.zeros([2, 3]), 2), { name: 'RangeError', message: 'cudagrad.logSoftmax: axis 2 is out of range for shape [2, 3]' });
  t.throws(() => cg.softmax(cg.zeros([2, 3]), -3), { name: 'RangeError', message: 'cudagrad.softmax: axis -3 is out of range for shape [2, 3]' });
  t.throws(() => cg.softmax(cg.zeros([2, 3]), 0.5), { name: 'TypeError', message: 'cudagrad.softmax: axis must be an integer, got number 0.5' });
  t.throws(() => cg.softmax(cg.zeros([3]), { causal: true }), { name: 'RangeError', message: 'cudagrad.softmax: causal mask needs at least 2 dims (Tq, Tk), got shape [3]' });
  t.throws(() => cg.softmax(cg.zeros([2, 3]), 0, { causal: true }), { name: 'RangeError', message: 'cudagrad.softmax: causal mask needs the last axis, got axis 0 for shape [2, 3]' });
  t.throws(() => cg.softmax(cg.zeros([2, 3]), { causal: 1 } as never), { name: 'TypeError', message: 'cudagrad.softmax: causal must be a boolean, got number 1' });
  t.throws(() => cg.softmax(cg.zeros([2, 3]), { casual: true } as never), { name: 'TypeError', message: "cudagrad.softmax: unknown option 'casual' (expected one of causal)" });
  t.throws(() => softmaxBackward(cg.zeros([2, 3]), cg.zeros([3, 2])), { name: 'RangeError', message: 'cudagrad.softmax backward: dout has shape [2, 3] but out has shape [3, 2]' });
  t.throws(() => logSoftmaxBackward(cg.zeros([2]), cg.tensor([1, 2], { dtype: 'int32' })), { name: 'TypeError', message: 'cudagrad.logSoftmax backward: out must be float32, got int32 tensor of shape [2]' });
  t.throws(() => cg.softmax('x' as never), { name: 'TypeError', message: "cudagrad.softmax: x must be a Tensor, got the string 'x'" });
});
