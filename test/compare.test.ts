// Comparison ops eq, ne, lt, le, gt, ge: every op and dtype against a plain JS
// reference computed element by element (test/oracle.ts's broadcast index maps) on
// every device (CUDA: the flat and the strided kernels, 32-bit indices), row,
// column, scalar, 0-size and odd-size broadcasts, ties, NaN/inf/-0, JS-number
// operands (float32: rounded to float32 as PyTorch; int32: exact), the output's
// dtype/shape/device, no autograd, bad input.
import t from 'tap';
import type { Test } from 'tap';

import * as cg from '../lib/index';
import type { CompareOp } from '../lib/ops/compare';
import { bindex, bshape, ODD_SIZES, size, testDevices, uniform } from './oracle';

const OPS: CompareOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'];
const REF: Record<CompareOp, (x: number, y: number) => boolean> = {
  eq: (x, y) => x === y,
  ne: (x, y) => x !== y,
  lt: (x, y) => x < y,
  le: (x, y) => x <= y,
  gt: (x, y) => x > y,
  ge: (x, y) => x >= y,
};

// Output element by element, through the oracle's broadcast index maps.
function reference(op: CompareOp, av: ArrayLike<number>, as: number[], bv: ArrayLike<number>, bs: number[]): { os: number[]; out: number[] } {
  const os = bshape(as, bs);
  const ia = bindex(os, as);
  const ib = bindex(os, bs);
  return { os, out: Array.from(ia, (a, i) => (REF[op](av[a], bv[ib[i]]) ? 1 : 0)) };
}

// Values with many ties: float32 multiples of 0.5 in [-2, 2] with NaN, +-inf, -0 and 0 mixed in;
// int32 in [-3, 3] with the int32 extremes.
const FLOAT_SPECIALS = [NaN, Infinity, -Infinity, -0, 0];
const INT_SPECIALS = [2147483647, -2147483648, 2147483646, 16777217, 16777216];

function values(dtype: cg.DType, n: number, seed: number): number[] {
  const u = uniform(n, seed, -2, 2);
  const w = uniform(n, seed + 1000, 0, 1);
  return Array.from(u, (v, i) => {
    if (dtype === 'float32') return w[i] < 0.15 ? FLOAT_SPECIALS[i % FLOAT_SPECIALS.length] : Math.round(v * 2) / 2;
    return w[i] < 0.1 ? INT_SPECIALS[i % INT_SPECIALS.length] : Math.round(v * 1.5);
  });
}

function make(dtype: cg.DType, vals: number[], shape: number[], device: cg.Device): cg.Tensor {
  const data = dtype === 'float32' ? Float32Array.from(vals) : Int32Array.from(vals);
  return cg.tensor(data, { shape, dtype, device });
}

function check(t: Test, got: cg.Tensor, want: { os: number[]; out: number[] }, device: cg.Device, label: string): void {
  t.same([got.shape, got.dtype, got.device, got.requiresGrad], [want.os, 'float32', device, false], `${label}: shape, dtype, device`);
  const g = got.toArray();
  const bad: string[] = [];
  for (let i = 0; i < want.out.length && bad.length < 5; i++) if (g[i] !== want.out[i]) bad.push(`[${i}] got ${g[i]} want ${want.out[i]}`);
  t.ok(g.length === want.out.length && bad.length === 0, `${label}: values`, bad.length ? { mismatches: bad } : {});
}

// [a shape, b shape]: same shape (odd sizes), scalar tensors, row (bias-like), column, general, 0-size.
const PATTERNS: [number[], number[]][] = [
  ...ODD_SIZES.map((n): [number[], number[]] => [[n], [n]]),
  [[1025], [1025]],
  [[7, 33], [7, 33]],
  [[33], [1]],
  [[1], [257]],
  [[7, 7], []],
  [[], []],
  [[33, 257], [257]],
  [[257], [7, 257]],
  [[64, 36], [36]],
  [[257, 7], [257, 1]],
  [[7, 1], [7, 33]],
  [[1, 7], [33, 1]],
  [[3, 1, 5], [4, 1]],
  [[2, 1, 3, 1], [1, 4, 1, 5]],
  [[3, 5, 2, 1, 3, 2, 2], [5, 1, 7, 1, 2, 1]],
  [[0, 3], [3]],
  [[4, 0], [1]],
  [[2, 0], [3, 1, 1]],
];

t.test('every op, both dtypes, every broadcast pattern, on every device, against the JS reference', async (t) => {
  for (const device of testDevices()) {
    let seed = 1;
    for (const dtype of ['float32', 'int32'] as cg.DType[]) {
      for (const [as, bs] of PATTERNS) {
        seed += 2;
        const av = values(dtype, size(as), seed);
        const bv = values(dtype, size(bs), seed + 1);
        const a = make(dtype, av, as, device);
        const b = make(dtype, bv, bs, device);
        for (const op of OPS) {
          const label = `${device} ${dtype} ${op} ${JSON.stringify(as)} ${JSON.stringify(bs)}`;
          check(t, cg[op](a, b), reference(op, av, as, bv, bs), device, label);
          check(t, cg[op](b, a), reference(op, bv, bs, av, as), device, `${label} (swapped)`);
        }
      }
    }
  }
});

t.test('a large case: ~1e6 elements (many threads on the CPU, many blocks on CUDA), same shape and broadcast', async (t) => {
  const n = 1000003;
  for (const device of testDevices()) {
    for (const dtype of ['float32', 'int32'] as cg.DType[]) {
      const av = values(dtype, n, 7);
      const bv = values(dtype, n, 8);
      const a = make(dtype, av, [n], device);
      const b = make(dtype, bv, [n], device);
      check(t, cg.lt(a, b), reference('lt', av, [n], bv, [n]), device, `${device} ${dtype} lt [${n}]`);
      const cv = values(dtype, 3, 9);
      const c = make(dtype, cv, [3, 1], device);
      check(t, cg.eq(a, c), reference('eq', av, [n], cv, [3, 1]), device, `${device} ${dtype} eq [${n}] [3, 1]`);
    }
  }
});

t.test('special values: NaN is unequal to everything (ne true), -0 == 0, infinities, ties', async (t) => {
  for (const device of testDevices()) {
    const a = cg.tensor([NaN, NaN, 1, -0, Infinity, -Infinity, 2, 2, -Infinity], { device });
    const b = cg.tensor([NaN, 1, NaN, 0, Infinity, -Infinity, 2, Infinity, Infinity], { device });
    const want: Record<CompareOp, number[]> = {
      eq: [0, 0, 0, 1, 1, 1, 1, 0, 0],
      ne: [1, 1, 1, 0, 0, 0, 0, 1, 1],
      lt: [0, 0, 0, 0, 0, 0, 0, 1, 1],
      le: [0, 0, 0, 1, 1, 1, 1, 1, 1],
      gt: [0, 0, 0, 0, 0, 0, 0, 0, 0],
      ge: [0, 0, 0, 1, 1, 1, 1, 0, 0],
    };
    for (const op of OPS) t.same(Array.from(cg[op](a, b).toArray()), want[op], `${device} ${op}`);
    t.same(Array.from(cg.eq(cg.tensor([-0, 0], { device }), 0).toArray()), [1, 1], `${device} -0 == 0 with a number`);
    t.same(Array.from(cg.ne(cg.tensor([NaN, 1], { device }), NaN).toArray()), [1, 1], `${device} ne NaN`);
    t.same(Array.from(cg.le(cg.tensor([NaN, 1], { device }), NaN).toArray()), [0, 0], `${device} le NaN`);
  }
});

t.test('a JS number as b: float32 rounds it to float32 (as PyTorch), int32 compares exactly', async (t) => {
  const fscalars = [0, -0, 0.5, -1.5, 2, 0.1, 1 / 3, NaN, Infinity, -Infinity, 1e39, -1e39, 3.4028235e38, 1e-50];
  const iscalars = [0, 2, 2.5, -2.5, -3, 1e10, -1e10, 2147483647, 2147483646.5, 16777217, NaN, Infinity, -Infinity];
  for (const device of testDevices()) {
    for (const n of [...ODD_SIZES, 1025, 0]) {
      const fv = values('float32', n, n + 3).map((v, i) => (i % 7 === 3 ? Math.fround(0.1) : i % 7 === 5 ? Math.fround(1 / 3) : v));
      if (n > 10) fv[10] = 3.4028234663852886e38;
      const x = make('float32', fv, [n], device);
      for (const s of fscalars) {
        const sf = Math.fround(s);
        for (const op of OPS) check(t, cg[op](x, s), reference(op, fv, [n], [sf], []), device, `${device} float32 [${n}] ${op} ${s}`);
      }
      const iv = values('int32', n, n + 4);
      const xi = make('int32', iv, [n], device);
      for (const s of iscalars)
        for (const op of OPS) check(t, cg[op](xi, s), reference(op, iv, [n], [s], []), device, `${device} int32 [${n}] ${op} ${s}`);
    }
    const i = cg.tensor([1, 2, 3], { dtype: 'int32', device });
    t.same(Array.from(cg.lt(i, 2.5).toArray()), [1, 1, 0], `${device} int32 2 < 2.5`);
    t.same(Array.from(cg.eq(i, 2.0000001).toArray()), [0, 0, 0], `${device} int32 2 != 2.0000001 (no float32 rounding)`);
    t.same(Array.from(cg.eq(cg.tensor([16777217], { dtype: 'int32', device }), 16777216).toArray()), [0], `${device} int32 16777217 != 16777216`);
    t.same(Array.from(cg.eq(cg.tensor([0.1], { device }), 0.1).toArray()), [1], `${device} float32 0.1 == 0.1 (the number rounded)`);
  }
});

t.test('Tensor methods, and accuracy = mean(eq(argmax(logits), labels))', async (t) => {
  for (const device of testDevices()) {
    const a = cg.tensor([[1, 2], [3, 4]], { device });
    const b = cg.tensor([2, 2], { device });
    t.same(Array.from(a.eq(b).toArray()), [0, 1, 0, 0]);
    t.same(Array.from(a.ne(b).toArray()), [1, 0, 1, 1]);
    t.same(Array.from(a.lt(b).toArray()), [1, 0, 0, 0]);
    t.same(Array.from(a.le(2).toArray()), [1, 1, 0, 0]);
    t.same(Array.from(a.gt(2).toArray()), [0, 0, 1, 1]);
    t.same(Array.from(a.ge(b).toArray()), [0, 1, 1, 1]);
    const logits = cg.tensor([[0.1, 0.9, 0], [0.8, 0.1, 0.1], [0, 0.2, 0.7], [0.3, 0.3, 0.4]], { device });
    const labels = cg.tensor([1, 0, 1, 2], { dtype: 'int32', device });
    const pred = cg.argmax(logits, 1);
    t.equal(pred.dtype, 'int32');
    t.equal(cg.mean(cg.eq(pred, labels)).item(), 0.75, `${device} accuracy`);
  }
});

t.test('not differentiable: no grad recorded; backward through a graph that uses a comparison', async (t) => {
  for (const device of testDevices()) {
    const x = cg.tensor([-1, 0.5, 2, -3], { device, requiresGrad: true });
    const m = cg.gt(x, 0);
    t.equal(m.requiresGrad, false, `${device} gt(x, 0) does not require grad`);
    t.equal(cg.eq(x, x).requiresGrad, false, `${device} eq(x, x) does not require grad`);
    const loss = cg.sum(cg.mul(cg.mul(x, x), m)); // sum of x^2 over x > 0
    loss.backward();
    t.same(Array.from(x.grad!.toArray()), [0, 1, 4, 0], `${device} d/dx sum(x^2 * (x > 0))`);
  }
});

t.test('bad input', async (t) => {
  const f = cg.zeros([2, 3]);
  const i = cg.tensor([1, 2], { dtype: 'int32' });
  for (const op of OPS) {
    t.throws(() => cg[op](f, i), { name: 'TypeError', message: `cudagrad.${op}: a and b must have the same dtype, got float32 and int32` });
    t.throws(() => cg[op](i, f), { name: 'TypeError', message: `cudagrad.${op}: a and b must have the same dtype, got int32 and float32` });
    t.throws(() => cg[op](f, cg.zeros([4])), {
      name: 'RangeError',
      message: `cudagrad.${op}: shapes [2, 3] and [4] are not broadcastable (sizes 3 and 4 at dim -1)`,
    });
  }
  t.throws(() => cg.lt(cg.zeros([3, 1, 5]), cg.zeros([4, 2])), {
    name: 'RangeError',
    message: 'cudagrad.lt: shapes [3, 1, 5] and [4, 2] are not broadcastable (sizes 5 and 2 at dim -1)',
  });
  t.throws(() => cg.eq(f, '1' as unknown as number), { name: 'TypeError', message: "cudagrad.eq: b must be a Tensor or a number, got the string '1'" });
  t.throws(() => cg.ge([1] as unknown as cg.Tensor, f), { name: 'TypeError', message: 'cudagrad.ge: a must be a Tensor, got an array' });
  const d = cg.zeros([2, 3]);
  d.dispose();
  t.throws(() => cg.eq(d, f), { name: 'TypeError', message: 'cudagrad.eq: tensor was disposed (shape [2, 3], float32, cpu)' });
  t.throws(() => cg.ne(f, d), { name: 'TypeError', message: 'cudagrad.ne: tensor was disposed (shape [2, 3], float32, cpu)' });
  t.throws(() => d.lt(1), { name: 'TypeError', message: 'cudagrad.lt: tensor was disposed (shape [2, 3], float32, cpu)' });
});
