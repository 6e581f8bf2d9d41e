// Reductions forward and backward: float64 oracle over every axis (and all
// elements) at every SIMD level and on every device (CUDA: warp rows, block
// rows, two-stage rows and columns, float4 columns, sizes straddling each),
// accuracy on long rows, identical bits for 1 and 2 threads (CUDA: across
// runs), NaN/inf, finite differences, bad input.
import t from 'tap';
import type { Test } from 'tap';

import * as cg from '../lib/index';
import { reduceBackward } from '../lib/ops/reduce';
import type { ReduceOp } from '../lib/ops/reduce';
import { assertClose, dot, f32, forEachSimd, numericGrad, testDevices, uniform } from './oracle';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface Ref {
  out: Float64Array;
  arg: Int32Array;
  shape: number[];
}

// float64 sum/mean/max/argmax of x (shape) over axis (null: all), keepdim.
function ref(op: ReduceOp | 'argmax', xv: ArrayLike<number>, shape: number[], axis: number | null, keepdim: boolean): Ref {
  let outer = 1;
  let len = size(shape);
  let inner = 1;
  let out: number[];
  if (axis === null) {
    out = keepdim ? shape.map(() => 1) : [];
  } else {
    const a = axis < 0 ? axis + Math.max(shape.length, 1) : axis;
    outer = size(shape.slice(0, a));
    len = shape.length ? shape[a] : 1;
    inner = size(shape.slice(a + 1));
    out = shape.slice();
    if (shape.length) {
      if (keepdim) out[a] = 1;
      else out.splice(a, 1);
    }
  }
  const res = new Float64Array(outer * inner);
  const arg = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let s = 0;
      let best = -Infinity;
      let bi = -1;
      for (let r = 0; r < len; r++) {
        const v = xv[(o * len + r) * inner + i];
        s += v;
        if (bi < 0 || (!Number.isNaN(best) && (Number.isNaN(v) || v > best))) {
          best = v;
          bi = r;
        }
      }
      res[o * inner + i] = op === 'sum' ? s : op === 'mean' ? s / len : best;
      arg[o * inner + i] = bi;
    }
  }
  return { out: res, arg, shape: out };
}

// float64 gradient of op over axis for dout.
function refGrad(op: ReduceOp, xv: ArrayLike<number>, shape: number[], axis: number | null, dv: ArrayLike<number>): Float64Array {
  const a = axis === null ? null : axis < 0 ? axis + shape.length : axis;
  const outer = a === null ? 1 : size(shape.slice(0, a));
  const len = a === null ? size(shape) : shape[a];
  const inner = a === null ? 1 : size(shape.slice(a + 1));
  const { arg } = ref('argmax', xv, shape, axis, false);
  const g = new Float64Array(size(shape));
  for (let o = 0; o < outer; o++)
    for (let r = 0; r < len; r++)
      for (let i = 0; i < inner; i++) {
        const d = dv[o * inner + i];
        g[(o * len + r) * inner + i] = op === 'sum' ? d : op === 'mean' ? d / len : arg[o * inner + i] === r ? d : 0;
      }
  return g;
}

const SHAPES: number[][] = [[1], [7], [33], [257], [7, 33], [33, 7], [3, 257, 5], [1, 1], [4, 1, 3], [2, 3, 4, 5], [5, 1030]];
const OPS: ReduceOp[] = ['sum', 'mean', 'max'];

// CUDA paths: rows of <= 1024 (groups of 1 to 32 lanes each) and longer
// (blocks; > 8192: two stages), columns with inner % 4 == 0 (float4) or not,
// wide blocks for few rows, column chunks (two stages).
const DEVICE_SHAPES: number[][] = [
  [1000, 2],
  [37, 20],
  [3, 100],
  [2, 1000],
  [3, 1024],
  [3, 1025],
  [2, 8193],
  [16385],
  [130, 8],
  [1100, 3],
  [300, 33],
  [129, 256],
  [4, 300, 12],
];

function oracleCases(t: Test, device: cg.Device, shapes: number[][]) {
  let seed = 1;
  for (const shape of shapes) {
    const xv = uniform(size(shape), seed++, -2, 2);
    const x = f32(xv, shape, device);
    const axes: (number | null)[] = [null, ...shape.map((_, d) => d), -1];
    for (const axis of axes) {
      for (const keepdim of [false, true]) {
        const label = `${device} ${JSON.stringify(shape)} axis ${axis}${keepdim ? ' keepdim' : ''}`;
        for (const op of OPS) {
          const r = ref(op, xv, shape, axis, keepdim);
          const out = cg[op](x, axis, { keepdim });
          t.same([out.shape, out.device], [r.shape, device], `${op} ${label} shape`);
          assertClose(t, out.toArray(), r.out, 1e-5, 1e-5, `${op} ${label}`);
          const dv = uniform(r.out.length, seed++, -1, 1);
          const g = reduceBackward(op, f32(dv, r.shape, device), x, axis, { keepdim });
          assertClose(t, g.toArray(), refGrad(op, xv, shape, axis, dv), 1e-7, 1e-6, `${op} backward ${label}`);
        }
        const am = cg.argmax(x, axis, { keepdim });
        t.equal(am.dtype, 'int32');
        t.same(Array.from(am.toArray()), Array.from(ref('argmax', xv, shape, axis, keepdim).arg), `argmax ${label}`);
      }
    }
  }
}

t.test('forward and backward match the float64 oracle on every axis, at every SIMD level', (t) =>
  forEachSimd(t, (t) => oracleCases(t, 'cpu', SHAPES)),
);

t.test('forward and backward match the float64 oracle on every axis, on every device (CUDA when present)', async (t) => {
  for (const device of testDevices()) oracleCases(t, device, [...SHAPES, ...DEVICE_SHAPES]);
});

// rtol 1e-6 on every device: the CPU's blocked pairwise sums, CUDA's chains of
// <= 32 adds per thread then trees over lanes and chunks (max diff seen: 2e-8
// relative on 2^20 elements).
function longCases(t: Test, device: cg.Device, cases: [number[], number | null][], rtol: number) {
  for (const [shape, axis] of cases) {
    const xv = uniform(size(shape), 17, 0, 1);
    // a planted maximum late in the data, so that it sits in a later block
    xv[xv.length - 5] = 2;
    const x = f32(xv, shape, device);
    const label = `${device} ${JSON.stringify(shape)} axis ${axis}`;
    // Naive float32 summation over 1M elements is off by ~1e-4 relative; pairwise keeps ~1e-7.
    assertClose(t, cg.sum(x, axis).toArray(), ref('sum', xv, shape, axis, false).out, 0, rtol, `sum ${label}`);
    assertClose(t, cg.mean(x, axis).toArray(), ref('mean', xv, shape, axis, false).out, 0, rtol, `mean ${label}`);
    assertClose(t, cg.max(x, axis).toArray(), ref('max', xv, shape, axis, false).out, 0, 0, `max ${label}`);
    t.same(Array.from(cg.argmax(x, axis).toArray()), Array.from(ref('argmax', xv, shape, axis, false).arg), `argmax ${label}`);
  }
}

t.test('long rows: blocked pairwise sums stay accurate, multi-block max/argmax are exact', (t) =>
  forEachSimd(t, (t) =>
    longCases(
      t,
      'cpu',
      [
        [[1 << 20], null],
        [[3, 300001], 1],
        [[100003, 3], 0],
        [[5000, 300], 0],
        [[2, 40000, 33], 1],
      ],
      1e-6,
    ),
  ),
);

t.test('long rows and columns on every device (CUDA: two and three stages)', async (t) => {
  for (const device of testDevices()) {
    longCases(
      t,
      device,
      [
        [[1 << 20], null],
        [[3, 100001], 1],
        [[100003, 3], 0],
        [[5000, 60], 0],
        [[2, 4000, 33], 1],
        [[70001, 4], 0],
      ],
      1e-6,
    );
  }
});

t.test('results are bitwise identical with 1 and 2 threads', async (t) => {
  const before = cg.getNumThreads();
  t.teardown(() => cg.setNumThreads(before));
  const cases: [number[], number | null][] = [
    [[1 << 20], null],
    [[3, 300001], 1],
    [[70001, 5], 0],
    [[64, 4096], -1],
    [[4096, 1024], 0],
    [[8, 3000, 7], 1],
  ];
  for (const [shape, axis] of cases) {
    const x = f32(uniform(size(shape), 5, -1, 1), shape);
    const run = () =>
      [cg.sum(x, axis), cg.mean(x, axis), cg.max(x, axis), cg.argmax(x, axis), reduceBackward('max', cg.ones(cg.max(x, axis).shape), x, axis)].map(
        (y) => Buffer.from(y.toArray().buffer),
      );
    cg.setNumThreads(1);
    const one = run();
    cg.setNumThreads(2);
    const two = run();
    one.forEach((b, i) => t.ok(b.equals(two[i]), `${['sum', 'mean', 'max', 'argmax', 'max backward'][i]} ${JSON.stringify(shape)} axis ${axis}`));
  }
});

t.test('CUDA results are bitwise identical from run to run (no float atomics)', async (t) => {
  const devices = testDevices().filter((d) => d !== 'cpu');
  for (const device of devices) {
    for (const [shape, axis] of [
      [[1 << 18], null],
      [[3, 30001], 1],
      [[20001, 5], 0],
      [[64, 4096], -1],
      [[700, 256], 0],
    ] as [number[], number | null][]) {
      const x = f32(uniform(size(shape), 5, -1, 1), shape, device);
      const run = () => [cg.sum(x, axis), cg.mean(x, axis), cg.max(x, axis), cg.argmax(x, axis)].map((y) => Buffer.from(y.toArray().buffer));
      const one = run();
      const two = run();
      one.forEach((b, i) => t.ok(b.equals(two[i]), `${device} ${['sum', 'mean', 'max', 'argmax'][i]} ${JSON.stringify(shape)} axis ${axis}`));
    }
  }
  if (!devices.length) t.pass('no CUDA device');
});

function nanCases(t: Test, device: cg.Device) {
  const T = (v: number[]) => cg.tensor(v, { device });
  const x = T([1, 3, NaN, 3, NaN]);
  t.ok(Number.isNaN(cg.max(x).item()), `${device} max with NaN`);
  t.equal(cg.argmax(x).item(), 2, 'argmax: first NaN');
  t.equal(cg.argmax(T([1, 3, 2, 3])).item(), 1, 'argmax tie: first');
  t.equal(cg.argmax(T([-Infinity, -Infinity])).item(), 0, 'all -inf');
  t.equal(cg.max(T([-Infinity, Infinity, 1])).item(), Infinity);
  t.same(Array.from(reduceBackward('max', cg.tensor(1, { device }), T([1, 3, 2, 3])).toArray()), [0, 1, 0, 0], 'max gradient to the first maximum');
  // One NaN per row at various places, rows long enough for vector bodies and blocks; also down columns.
  for (const n of [7, 33, 257, 1025, 9001, 40000]) {
    const v = uniform(3 * n, n, -1, 1);
    v[n - 1] = NaN; // row 0: last element
    v[n + 0] = NaN; // row 1: first
    v[2 * n + (n >> 1)] = Infinity; // row 2: no NaN
    const m = cg.max(f32(v, [3, n], device), 1).toArray();
    t.ok(Number.isNaN(m[0]) && Number.isNaN(m[1]) && m[2] === Infinity, `${device} rows of ${n}: ${m}`);
    t.same(Array.from(cg.argmax(f32(v, [3, n], device), 1).toArray()), [n - 1, 0, n >> 1], `${device} argmax rows of ${n}`);
    const col = cg.transpose(f32(v, [3, n], device), 0, 1);
    const mc = cg.max(col, 0).toArray();
    t.ok(Number.isNaN(mc[0]) && Number.isNaN(mc[1]) && mc[2] === Infinity, `${device} columns of ${n}`);
    t.same(Array.from(cg.argmax(col, 0).toArray()), [n - 1, 0, n >> 1], `${device} argmax columns of ${n}`);
  }
  // Ties on long rows and columns (lanes and blocks merge to the lowest index); all-equal rows give 0.
  for (const n of [7, 64, 1000, 9000, 40000]) {
    const v = new Float64Array(2 * n);
    v[n - 1] = 1;
    v[Math.floor(n / 3)] = 1;
    v[Math.floor(n / 2)] = 1;
    const want = [Math.floor(n / 3), 0];
    t.same(Array.from(cg.argmax(f32(v, [2, n], device), 1).toArray()), want, `${device} argmax ties, rows of ${n}`);
    t.same(Array.from(cg.argmax(cg.transpose(f32(v, [2, n], device), 0, 1), 0).toArray()), want, `${device} argmax ties, columns of ${n}`);
    const g = reduceBackward('max', cg.ones([2], { device }), f32(v, [2, n], device), 1).toArray();
    t.same(Array.from(g).flatMap((g, i) => (g ? [i] : [])), [want[0], n], `${device} max backward ties, rows of ${n}`);
  }
  const s = cg.sum(T([1, Infinity, 2])).item();
  t.equal(s, Infinity, 'sum with inf');
  t.ok(Number.isNaN(cg.sum(T([Infinity, -Infinity])).item()), 'inf - inf');
}

t.test('NaN, inf and ties: max propagates NaN, argmax takes the first NaN or the first maximum', async (t) => {
  await forEachSimd(t, (t) => nanCases(t, 'cpu'));
  for (const device of testDevices()) if (device !== 'cpu') nanCases(t, device);
});

t.test('backward agrees with central finite differences on every device', async (t) => {
  const shape = [3, 4, 5];
  // Distinct values (no ties within h of each other) for max.
  const xv = Float64Array.from({ length: 60 }, (_, i) => Math.fround(((i * 37) % 60) / 10 - 3));
  for (const device of testDevices()) {
    for (const axis of [null, 0, 1, -1]) {
      for (const op of OPS) {
        const oshape = ref(op, xv, shape, axis, false).shape;
        const w = uniform(size(oshape), 3);
        const num = numericGrad((x) => dot(cg[op](f32(x, shape, device), axis).toArray(), w), xv, 1e-2);
        const got = reduceBackward(op, f32(w, oshape, device), f32(xv, shape, device), axis).toArray();
        assertClose(t, got, num, 2e-3, 2e-2, `${device} ${op} axis ${axis} analytic vs numeric`);
      }
    }
  }
});

t.test('empty tensors, size-1 and 0-d inputs; methods on Tensor', async (t) => {
  for (const device of testDevices()) {
    const o = { device };
    t.same(Array.from(cg.sum(cg.zeros([0, 3], o), 0).toArray()), [0, 0, 0], `${device} sum over an empty axis`);
    t.ok(Array.from(cg.mean(cg.zeros([0, 3], o), 0).toArray()).every(Number.isNaN), 'mean over an empty axis is NaN');
    t.equal(cg.sum(cg.zeros([0], o)).item(), 0);
    t.same(cg.max(cg.zeros([0, 3], o), 1).shape, [0]);
    t.same(cg.sum(cg.zeros([2, 0], o), 1, { keepdim: true }).toArray(), new Float32Array(2));
    t.same(Array.from(reduceBackward('mean', cg.zeros([0], o), cg.zeros([0, 3], o), 1).toArray()), [], 'empty backward');
    const s = cg.tensor(5, o);
    t.same([cg.sum(s).shape, cg.sum(s).item(), cg.sum(s, 0).shape, cg.max(s, -1).item(), cg.argmax(s).item()], [[], 5, [], 5, 0]);
    t.same(cg.sum(cg.ones([2, 3], o), null, { keepdim: true }).shape, [1, 1]);
  }
  const x = cg.tensor([[1, 5, 2], [7, 0, 3]]);
  t.same(Array.from(x.sum(1).toArray()), [8, 10]);
  t.same(Array.from(x.mean(0).toArray()), [4, 2.5, 2.5]);
  t.same(Array.from(x.max(-1, { keepdim: true }).toArray()), [5, 7]);
  t.same(Array.from(x.argmax(0).toArray()), [1, 0, 1]);
  t.equal(x.argmax().item(), 3);
});

t.test('bad input', async (t) => {
  const x = cg.zeros([3, 4]);
  t.throws(() => cg.sum(x, 2), { name: 'RangeError', message: 'cudagrad.sum: axis 2 is out of range for shape [3, 4] (expected -2 to 1)' });
  t.throws(() => cg.argmax(x, -3), { name: 'RangeError', message: 'cudagrad.argmax: axis -3 is out of range for shape [3, 4] (expected -2 to 1)' });
  t.throws(() => cg.mean(x, 0.5), { name: 'TypeError', message: 'cudagrad.mean: axis must be an integer, got number 0.5' });
  t.throws(() => cg.max(cg.zeros([0])), { name: 'RangeError', message: 'cudagrad.max: cannot reduce an empty tensor (shape [0]) without an axis' });
  t.throws(() => cg.argmax(cg.zeros([3, 0]), 1), { name: 'RangeError', message: 'cudagrad.argmax: cannot reduce over axis 1 of size 0 (shape [3, 0])' });
  t.throws(() => cg.sum(cg.zeros([2], { dtype: 'int32' })), { name: 'TypeError', message: 'cudagrad.sum: input must be float32, got int32 tensor of shape [2]' });
  t.throws(() => cg.sum(x, 0, { keepdims: true } as unknown as cg.ReduceOptions), { name: 'TypeError', message: "cudagrad.sum: unknown option 'keepdims' (expected one of keepdim)" });
  t.throws(() => cg.sum(x, 0, { keepdim: 1 } as unknown as cg.ReduceOptions), { name: 'TypeError', message: 'cudagrad.sum: keepdim must be a boolean, got number 1' });
  t.throws(() => reduceBackward('sum', cg.zeros([4]), x, 1), {
    name: 'RangeError',
    message: 'cudagrad.sum backward: dout has shape [4] but the sum of shape [3, 4] over axis 1 has shape [3]',
  });
  t.throws(() => reduceBackward('mean', cg.zeros([4]), x, 1, { keepdim: true }), {
    name: 'RangeError',
    message: 'cudagrad.mean backward: dout has shape [4] but the mean of shape [3, 4] over axis 1 (keepdim) has shape [3, 1]',
  });
  t.throws(() => reduceBackward('max', cg.zeros([2]), x), {
    name: 'RangeError',
    message: 'cudagrad.max backward: dout has shape [2] but the max of shape [3, 4] over all elements has shape []',
  });
});
