// Elementwise ops forward and backward: float64 broadcasting oracle at every
// SIMD level and on every device (CUDA: the flat float4 path, the 2-D bias and
// column path, the general strided path, sizes straddling float4 and blocks)
// on many broadcast patterns and odd sizes, finite differences, special values
// (NaN/inf, PyTorch's pow and clamp conventions), bad input.
import t from 'tap';
import type { Test } from 'tap';

import * as cg from '../lib/index';
import { binaryBackward, clampBackward, unaryBackward } from '../lib/ops/elementwise';
import type { BinaryOp, UnaryOp } from '../lib/ops/elementwise';
import { assertClose, bindex, bshape, dot, f32, forEachSimd, numericGrad, ODD_SIZES, size, testDevices, uniform } from './oracle';

// --- float64 oracle

type F2 = (x: number, y: number) => number;
const fwd64: Record<BinaryOp, F2> = { add: (x, y) => x + y, sub: (x, y) => x - y, mul: (x, y) => x * y, div: (x, y) => x / y, pow: Math.pow };
// d/da and d/db, PyTorch's pow conventions.
const grad64: Record<BinaryOp, [F2, F2]> = {
  add: [() => 1, () => 1],
  sub: [() => 1, () => -1],
  mul: [(_x, y) => y, (x) => x],
  div: [(_x, y) => 1 / y, (x, y) => -x / (y * y)],
  pow: [(x, y) => (y === 0 ? 0 : y * x ** (y - 1)), (x, y) => (x === 0 && y >= 0 ? 0 : x ** y * Math.log(x))],
};

function refBinary(op: BinaryOp, av: Float64Array, as: number[], bv: Float64Array, bs: number[], dv: Float64Array) {
  const os = bshape(as, bs);
  const ia = bindex(os, as);
  const ib = bindex(os, bs);
  const n = size(os);
  const out = new Float64Array(n);
  const da = new Float64Array(av.length);
  const db = new Float64Array(bv.length);
  for (let i = 0; i < n; i++) {
    const x = av[ia[i]];
    const y = bv[ib[i]];
    out[i] = fwd64[op](x, y);
    da[ia[i]] += dv[i] * grad64[op][0](x, y);
    db[ib[i]] += dv[i] * grad64[op][1](x, y);
  }
  return { os, out, da, db };
}

// Inputs per op: pow on positive bases, div away from 0.
function inputs(op: BinaryOp, as: number[], bs: number[], seed: number) {
  const av = op === 'pow' ? uniform(size(as), seed, 0.5, 2) : uniform(size(as), seed, -2, 2);
  let bv = op === 'pow' ? uniform(size(bs), seed + 1, -2, 2) : uniform(size(bs), seed + 1, -2, 2);
  if (op === 'div') bv = bv.map((v) => (Math.abs(v) < 0.25 ? Math.fround(v + Math.sign(v || 1) * 0.5) : v));
  return { av, bv };
}

const OPS: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow'];

// [a shape, b shape]: same shape, scalar tensors, bias-like, column, general strided.
const PATTERNS: [number[], number[]][] = [
  ...ODD_SIZES.map((n): [number[], number[]] => [[n], [n]]),
  [[7, 33], [7, 33]],
  [[33], [1]],
  [[1], [257]],
  [[7, 7], []],
  [[33, 257], [257]],
  [[257], [7, 257]],
  [[4, 7, 33], [33]],
  [[4, 7, 33], [7, 33]],
  [[257, 7], [257, 1]],
  [[7, 1], [7, 33]],
  [[3, 1, 5], [4, 1]],
  [[1, 7], [33, 1]],
  [[2, 1, 3, 1], [1, 4, 1, 5]],
  [[5, 1, 1], [1]],
  [[2, 3, 1, 7], [3, 33, 1]],
  [[1, 1, 1], [1, 1]],
  [[0, 3], [3]],
  [[4, 0], [1]],
];

// CUDA: sizes around the float4 and 256-thread block boundaries, and patterns
// that merge to the 2-D bias/column path (cols % 4 == 0) or stay general.
const DEVICE_PATTERNS: [number[], number[]][] = [
  [[1023], [1023]],
  [[1025], [1025]],
  [[4099], [4099]],
  [[1025], [1]],
  [[1], [1030]],
  [[7, 4], [7, 4]],
  [[5, 12], [12]],
  [[64, 36], [36]],
  [[2, 8], [1, 8]],
  [[6, 8], [6, 1]],
  [[257, 12], [257, 1]],
  [[12], [3, 1]],
  [[3, 4, 8], [4, 1]],
  [[4, 1, 8], [1, 3, 8]],
  [[2, 300, 4], [300, 1]],
  [[3, 5, 2, 1, 3, 2, 2], [5, 1, 7, 1, 2, 1]],
];

// Forward, both gradients (summed back to each operand's shape on the device) and shapes.
function binaryCases(t: Test, device: cg.Device, patterns: [number[], number[]][]) {
  let seed = 10;
  for (const [as, bs] of patterns) {
    for (const op of OPS) {
      seed += 3;
      const { av, bv } = inputs(op, as, bs, seed);
      const os = bshape(as, bs);
      const dv = uniform(size(os), seed + 2, -1, 1);
      const ref = refBinary(op, av, as, bv, bs, dv);
      const a = f32(av, as, device);
      const b = f32(bv, bs, device);
      const label = `${device} ${op} ${JSON.stringify(as)} ${JSON.stringify(bs)}`;
      const out = cg[op](a, b);
      t.same([out.shape, out.device], [os, device], `${label} shape`);
      assertClose(t, out.toArray(), ref.out, 1e-6, 2e-6, `${label} forward`);
      const g = binaryBackward(op, f32(dv, os, device), a, b);
      t.same([g.da.shape, g.db?.shape, g.da.device, g.db?.device], [as, bs, device, device], `${label} gradient shapes`);
      assertClose(t, g.da.toArray(), ref.da, 1e-5, 1e-5, `${label} da`);
      assertClose(t, g.db!.toArray(), ref.db, 1e-5, 1e-5, `${label} db`);
    }
  }
}

t.test('binary ops match the float64 oracle on every broadcast pattern, at every SIMD level', (t) =>
  forEachSimd(t, (t) => binaryCases(t, 'cpu', PATTERNS)),
);

t.test('binary ops on every device (CUDA when present): every pattern, block-straddling sizes', async (t) => {
  for (const device of testDevices()) binaryCases(t, device, [...PATTERNS, ...DEVICE_PATTERNS]);
});

t.test('large inputs split over threads (CPU) and over many blocks (CUDA): same-shape, bias and general broadcasts', async (t) => {
  for (const device of testDevices()) {
    const cuda = device !== 'cpu';
    for (const [as, bs] of [
      [[100003], [100003]],
      [[301, 1024], [1024]],
      [[257, 301], [257, 1]],
      [cuda ? [3, 1, 2001] : [3, 1, 20001], [7, 1]],
    ] as [number[], number[]][]) {
      for (const op of ['add', 'div'] as BinaryOp[]) {
        const { av, bv } = inputs(op, as, bs, 99);
        const os = bshape(as, bs);
        const dv = uniform(size(os), 98, -1, 1);
        const ref = refBinary(op, av, as, bv, bs, dv);
        const a = f32(av, as, device);
        const b = f32(bv, bs, device);
        const label = `${device} ${op} ${JSON.stringify(as)} ${JSON.stringify(bs)}`;
        assertClose(t, cg[op](a, b).toArray(), ref.out, 1e-6, 2e-6, `${label} forward`);
        const g = binaryBackward(op, f32(dv, os, device), a, b);
        // db sums up to 2001 * 3 terms (CUDA: in another order than the CPU's)
        assertClose(t, g.da.toArray(), ref.da, 1e-4, 1e-5, `${label} da`);
        assertClose(t, g.db!.toArray(), ref.db, 1e-4, 1e-5, `${label} db`);
      }
    }
  }
});

function scalarCases(t: Test, device: cg.Device, sizes: number[]) {
  for (const n of sizes) {
    const xv = uniform(n, n, 0.25, 3);
    const dv = uniform(n, n + 7, -1, 1);
    const x = f32(xv, [n], device);
    const dout = f32(dv, [n], device);
    for (const [op, s] of [['add', 2.5], ['sub', -1.25], ['mul', 3], ['div', -0.75]] as [BinaryOp, number][]) {
      assertClose(t, cg[op](x, s).toArray(), Array.from(xv, (v) => fwd64[op](v, s)), 1e-6, 2e-6, `${device} ${op} scalar n=${n}`);
      const g = binaryBackward(op, dout, x, s);
      t.equal(g.db, undefined, 'no db for a number');
      assertClose(t, g.da.toArray(), Array.from(xv, (v, i) => dv[i] * grad64[op][0](v, s)), 1e-6, 2e-6, `${device} ${op} scalar da n=${n}`);
    }
    for (const s of [0, 1, 2, 3, 0.5, -0.5, -1, -2, 1.7, -0.3]) {
      assertClose(t, cg.pow(x, s).toArray(), Array.from(xv, (v) => v ** s), 1e-6, 2e-6, `${device} pow(x, ${s}) n=${n}`);
      const g = binaryBackward('pow', dout, x, s).da;
      assertClose(t, g.toArray(), Array.from(xv, (v, i) => dv[i] * grad64.pow[0](v, s)), 1e-6, 1e-5, `${device} pow(x, ${s}) da n=${n}`);
    }
  }
}

t.test('scalar operands, and pow with a number exponent (PyTorch shortcuts) at every SIMD level', (t) =>
  forEachSimd(t, (t) => scalarCases(t, 'cpu', [...ODD_SIZES, 1000])),
);

t.test('scalar operands and pow shortcuts on every device (CUDA when present)', async (t) => {
  for (const device of testDevices()) scalarCases(t, device, [...ODD_SIZES, 1023, 1025]);
});

t.test('binary backward agrees with central finite differences on every device', async (t) => {
  for (const device of testDevices()) {
    const T = (v: ArrayLike<number>, shape: number[]) => f32(v, shape, device);
    for (const [as, bs] of [
      [[2, 1, 3], [4, 1]],
      [[3], [2, 3]],
      [[2, 3], [2, 3]],
      [[3, 1], []],
    ] as [number[], number[]][]) {
      for (const op of OPS) {
        const { av, bv } = inputs(op, as, bs, 5);
        const os = bshape(as, bs);
        const w = uniform(size(os), 6);
        const g = binaryBackward(op, T(w, os), T(av, as), T(bv, bs));
        const la = (x: Float64Array) => dot(cg[op](T(x, as), T(bv, bs)).toArray(), w);
        const lb = (y: Float64Array) => dot(cg[op](T(av, as), T(y, bs)).toArray(), w);
        const label = `${device} ${op} ${JSON.stringify(as)} ${JSON.stringify(bs)}`;
        assertClose(t, g.da.toArray(), numericGrad(la, av, 1e-2), 2e-3, 2e-2, `${label} da vs numeric`);
        assertClose(t, g.db!.toArray(), numericGrad(lb, bv, 1e-2), 2e-3, 2e-2, `${label} db vs numeric`);
      }
    }
    const xv = uniform(5, 9, 0.5, 2);
    const w = uniform(5, 10);
    for (const s of [2, 0.5, 1.7, -1]) {
      const num = numericGrad((x) => dot(cg.pow(T(x, [5]), s).toArray(), w), xv, 1e-2);
      assertClose(t, binaryBackward('pow', T(w, [5]), T(xv, [5]), s).da.toArray(), num, 2e-3, 2e-2, `${device} pow(x, ${s}) vs numeric`);
    }
  }
});

const unary64: Record<UnaryOp, { f: (x: number) => number; df: (x: number) => number; lo: number; hi: number }> = {
  neg: { f: (x) => -x, df: () => -1, lo: -5, hi: 5 },
  exp: { f: Math.exp, df: Math.exp, lo: -80, hi: 80 },
  log: { f: Math.log, df: (x) => 1 / x, lo: 1e-3, hi: 1e4 },
  sqrt: { f: Math.sqrt, df: (x) => 0.5 / Math.sqrt(x), lo: 1e-3, hi: 1e4 },
};
const UNARY = Object.keys(unary64) as UnaryOp[];

function unaryCases(t: Test, device: cg.Device, sizes: number[]) {
  for (const n of sizes) {
    for (const op of UNARY) {
      const r = unary64[op];
      const xv = uniform(n, n + op.length, r.lo, r.hi);
      const dv = uniform(n, n + 1, -1, 1);
      const x = f32(xv, [n], device);
      const dout = f32(dv, [n], device);
      const out = cg[op](x);
      const label = `${device} ${op}`;
      assertClose(t, out.toArray(), Array.from(xv, r.f), 1e-30, 4e-6, `${label} forward n=${n}`);
      const want = Array.from(xv, (v, i) => dv[i] * r.df(v));
      assertClose(t, unaryBackward(op, dout, x).toArray(), want, 1e-30, 1e-5, `${label} backward n=${n}`);
      assertClose(t, unaryBackward(op, dout, x, out).toArray(), want, 1e-30, 1e-5, `${label} backward from out n=${n}`);
    }
  }
}

t.test('unary ops forward and backward (with and without the saved output) at every SIMD level', (t) =>
  forEachSimd(t, (t) => unaryCases(t, 'cpu', [...ODD_SIZES, 100003])),
);

t.test('unary ops on every device (CUDA when present)', async (t) => {
  for (const device of testDevices()) unaryCases(t, device, [...ODD_SIZES, 1023, 1024, 1025, 4099]);
});

t.test('unary backward agrees with central finite differences on every device', async (t) => {
  const n = 7;
  for (const device of testDevices()) {
    const T = (v: ArrayLike<number>) => f32(v, [n], device);
    for (const op of UNARY) {
      const xv = uniform(n, 3, 0.5, 3);
      const w = uniform(n, 4);
      const num = numericGrad((x) => dot(cg[op](T(x)).toArray(), w), xv, 1e-2);
      assertClose(t, unaryBackward(op, T(w), T(xv)).toArray(), num, 2e-3, 2e-2, `${device} ${op} vs numeric`);
    }
    const xv = Float64Array.from([-2, -0.6, -0.2, 0.3, 0.7, 1.4, 3]);
    const w = uniform(n, 5);
    const num = numericGrad((x) => dot(cg.clamp(T(x), { min: -0.5, max: 1 }).toArray(), w), xv, 1e-2);
    assertClose(t, clampBackward(T(w), T(xv), { min: -0.5, max: 1 }).toArray(), num, 2e-3, 2e-2, `${device} clamp vs numeric`);
  }
});

function clampCases(t: Test, device: cg.Device) {
  for (const n of [...ODD_SIZES, 1025, 4099]) {
    const xv = uniform(n, n, -3, 3);
    const dv = uniform(n, n + 1, -1, 1);
    const x = f32(xv, [n], device);
    for (const [lo, hi] of [[-1, 1], [-1, undefined], [undefined, 0.5], [2, -2]] as (number | undefined)[][]) {
      const L = lo ?? -Infinity;
      const H = hi ?? Infinity;
      const opts = { min: lo, max: hi };
      const label = `${device} clamp ${lo} ${hi} n=${n}`;
      assertClose(t, cg.clamp(x, opts).toArray(), Array.from(xv, (v) => Math.min(Math.max(v, L), H)), 0, 0, label);
      const want = Array.from(xv, (v, i) => (v >= L && v <= H ? dv[i] : 0));
      assertClose(t, clampBackward(f32(dv, [n], device), x, opts).toArray(), want, 0, 0, `${label} backward`);
    }
  }
  // Bounds are inside (gradient 1 at min and max, as torch 1.13); NaN: NaN out, gradient 0.
  const x = cg.tensor([-1, 0, 0.5, 1, 2, NaN, -Infinity, Infinity], { device });
  const y = Array.from(cg.clamp(x, { min: 0, max: 1 }).toArray());
  t.same(y.slice(0, 5), [0, 0, 0.5, 1, 1]);
  t.ok(Number.isNaN(y[5]), `${device} clamp(NaN) = NaN`);
  t.same(y.slice(6), [0, 1]);
  t.same(Array.from(clampBackward(cg.ones([8], { device }), x, { min: 0, max: 1 }).toArray()), [0, 1, 1, 1, 0, 0, 0, 0]);
  const z = cg.tensor([-Infinity, NaN, Infinity], { device });
  t.same(Array.from(clampBackward(cg.ones([3], { device }), z, { max: 1 }).toArray()), [1, 0, 0]);
}

t.test('clamp forward and backward at every SIMD level, PyTorch conventions', (t) => forEachSimd(t, (t) => clampCases(t, 'cpu')));

t.test('clamp on every device (CUDA when present)', async (t) => {
  for (const device of testDevices()) clampCases(t, device);
});

// exp/log/sqrt/neg of NaN, inf, zeros, denormals, overflow. CUDA's expf may be
// 2 ulp off in the denormal range (exp(-104)): absolute slack of 2 denormal ulps there.
function specialUnary(t: Test, device: cg.Device) {
  const xs = [NaN, Infinity, -Infinity, 0, -0, -1, 89, -104, 1e-40, 3.4e38];
  const x = f32(xs, [xs.length], device);
  const slack = device === 'cpu' ? 0 : 3e-45;
  const check = (got: ArrayLike<number>, want: number[], label: string) =>
    t.ok(
      Array.from(got).every(
        (g, i) =>
          Object.is(g, Math.fround(want[i])) || (Number.isNaN(g) && Number.isNaN(want[i])) || Math.abs(g - want[i]) <= 1e-5 * Math.abs(want[i]) + slack,
      ),
      `${device} ${label}: ${Array.from(got)}`,
    );
  check(cg.exp(x).toArray(), [NaN, Infinity, 0, 1, 1, Math.exp(-1), Infinity, 0, 1, Infinity], 'exp');
  check(cg.log(x).toArray(), [NaN, Infinity, NaN, -Infinity, -Infinity, NaN, Math.log(89), NaN, Math.log(Math.fround(1e-40)), Math.log(Math.fround(3.4e38))], 'log');
  check(cg.sqrt(x).toArray(), [NaN, Infinity, NaN, 0, -0, NaN, Math.sqrt(89), NaN, Math.sqrt(Math.fround(1e-40)), Math.sqrt(Math.fround(3.4e38))], 'sqrt');
  check(cg.neg(x).toArray(), xs.map((v) => Math.fround(-v)), 'neg');
}

// Division by zero, NaN operands, pow's PyTorch edge cases and gradient zeros, empty tensors.
function specialBinary(t: Test, device: cg.Device) {
  const same = (got: ArrayLike<number>, want: number[], label: string) =>
    t.ok(
      Array.from(got).every((g, i) => Object.is(g, want[i]) || (Number.isNaN(g) && Number.isNaN(want[i]))),
      `${device} ${label}: ${Array.from(got)} vs ${want}`,
    );
  const T = (v: number[]) => cg.tensor(v, { device });
  const ones = (n: number) => cg.ones([n], { device });
  same(cg.div(T([1, -1, 0]), 0).toArray(), [Infinity, -Infinity, NaN], 'x / 0');
  same(cg.div(T([1, -1, 0]), T([0])).toArray(), [Infinity, -Infinity, NaN], 'x / tensor 0');
  same(cg.add(T([1, 2]), NaN).toArray(), [NaN, NaN], 'x + NaN');
  // pow as PyTorch: pow(x, 0) = 1 even for NaN; negative bases with integer exponents.
  same(cg.pow(T([NaN, 0, -2]), 0).toArray(), [1, 1, 1], 'pow(x, 0)');
  same(cg.pow(T([-8, -2, 0, 0]), T([1 / 3, 3, -1, 0])).toArray(), [NaN, -8, Infinity, 1], 'pow tensor exponent');
  same(cg.pow(T([NaN, 1, -2]), T([0, NaN, 2])).toArray(), [1, 1, 4], 'pow tensor exponent, NaN rules');
  same(cg.pow(T([-2, 2]), 3).toArray(), [-8, 8], 'pow(x, 3)');
  // Edge cases as torch 1.13 prints them (0.5 and -0.5 are sqrt and 1/sqrt there too).
  const edge = T([-0, -Infinity, -4, 4]);
  same(cg.pow(edge, 0.5).toArray(), [-0, NaN, NaN, 2], 'pow(edge, 0.5)');
  same(cg.pow(edge, -0.5).toArray(), [-Infinity, NaN, NaN, 0.5], 'pow(edge, -0.5)');
  same(cg.pow(edge, 2).toArray(), [0, Infinity, 16, 16], 'pow(edge, 2)');
  same(cg.pow(edge, -1).toArray(), [-Infinity, -0, -0.25, 0.25], 'pow(edge, -1)');
  same(cg.pow(edge, 1.7).toArray(), [0, Infinity, NaN, Math.fround(4 ** 1.7)], 'pow(edge, 1.7)');
  // Gradients of pow where torch zeroes them: d/dbase where exponent == 0, d/dexp where base == 0 and exponent >= 0.
  const g = binaryBackward('pow', ones(4), T([0, 0, 2, -1]), T([0, 2, 0, 2]));
  same(g.da.toArray(), [0, 0, 0, -2], 'pow da');
  same(g.db!.toArray(), [0, 0, Math.fround(Math.LN2), NaN], 'pow db');
  same(binaryBackward('pow', ones(3), T([0, -2, 2]), 0).da.toArray(), [0, 0, 0], 'pow(x, 0) da');
  same(binaryBackward('pow', ones(3), T([0, -2, 4]), 0.5).da.toArray(), [Infinity, NaN, 0.25], 'pow(x, 0.5) da');
  same(unaryBackward('sqrt', ones(2), T([0, -1])).toArray(), [Infinity, NaN], 'sqrt backward');
  same(unaryBackward('log', ones(2), T([0, -1])).toArray(), [Infinity, -1], 'log backward');
  t.equal(cg.exp(cg.zeros([0], { device })).size, 0, 'empty');
  t.same(cg.add(cg.zeros([0, 3], { device }), cg.ones([3], { device })).shape, [0, 3], 'empty broadcast');
  const db = binaryBackward('mul', cg.zeros([0, 3], { device }), cg.zeros([0, 3], { device }), cg.ones([3], { device })).db!;
  t.same([Array.from(db.toArray()), db.device], [[0, 0, 0], device], 'empty db');
}

t.test('special values at every SIMD level and on every device', async (t) => {
  await forEachSimd(t, (t) => specialUnary(t, 'cpu'));
  for (const device of testDevices()) {
    if (device !== 'cpu') specialUnary(t, device);
    specialBinary(t, device);
  }
});

t.test('methods on Tensor', async (t) => {
  const a = cg.tensor([[1, 2], [3, 4]]);
  t.same(Array.from(a.add(1).mul(a).sub(cg.tensor([1, 1])).div(2).toArray()), [0.5, 2.5, 5.5, 9.5]);
  t.same(Array.from(a.pow(2).sqrt().neg().toArray()), [-1, -2, -3, -4]);
  t.same(Array.from(a.log().exp().clamp({ min: 1.5, max: 3.5 }).toArray()).map((v) => Math.round(v * 1e5) / 1e5), [1.5, 2, 3, 3.5]);
});

t.test('bad input', async (t) => {
  const x = cg.zeros([2, 3]);
  const i = cg.tensor([1, 2], { dtype: 'int32' });
  t.throws(() => cg.add(i, i), { name: 'TypeError', message: 'cudagrad.add: a must be float32, got int32 tensor of shape [2]' });
  t.throws(() => cg.mul(cg.zeros([2]), i), { name: 'TypeError', message: 'cudagrad.mul: b must be float32, got int32 tensor of shape [2]' });
  t.throws(() => cg.pow(cg.zeros([2]), i), { name: 'TypeError', message: 'cudagrad.pow: exponent must be float32, got int32 tensor of shape [2]' });
  t.throws(() => cg.sub(i, 1), { name: 'TypeError', message: 'cudagrad.sub: a must be float32, got int32 tensor of shape [2]' });
  t.throws(() => cg.exp(i), { name: 'TypeError', message: 'cudagrad.exp: input must be float32, got int32 tensor of shape [2]' });
  t.throws(() => cg.add(x, cg.zeros([4])), {
    name: 'RangeError',
    message: 'cudagrad.add: shapes [2, 3] and [4] are not broadcastable (sizes 3 and 4 at dim -1)',
  });
  t.throws(() => cg.div(cg.zeros([3, 1, 5]), cg.zeros([4, 2])), {
    name: 'RangeError',
    message: 'cudagrad.div: shapes [3, 1, 5] and [4, 2] are not broadcastable (sizes 5 and 2 at dim -1)',
  });
  t.throws(() => cg.add(x, '1' as unknown as number), { name: 'TypeError', message: "cudagrad.add: b must be a Tensor or a number, got the string '1'" });
  t.throws(() => cg.add([1] as unknown as cg.Tensor, x), { name: 'TypeError', message: 'cudagrad.add: a must be a Tensor, got an array' });
  t.throws(() => cg.add(x, 1e39), { name: 'RangeError', message: 'cudagrad.add: scalar 1e+39 overflows float32' });
  t.throws(() => binaryBackward('add', cg.zeros([3]), x, cg.zeros([3])), {
    name: 'RangeError',
    message: 'cudagrad.add backward: dout has shape [3] but [2, 3] and [3] broadcast to [2, 3]',
  });
  t.throws(() => binaryBackward('mul', cg.zeros([3]), x, 2), { name: 'RangeError', message: 'cudagrad.mul backward: dout has shape [3] but a has shape [2, 3]' });
  t.throws(() => unaryBackward('exp', cg.zeros([2, 3]), x, cg.zeros([3])), {
    name: 'RangeError',
    message: 'cudagrad.exp backward: out has shape [3] but input has shape [2, 3]',
  });
  t.throws(() => cg.clamp(x, {}), { name: 'TypeError', message: 'cudagrad.clamp: at least one of min and max must be given' });
  t.throws(() => cg.clamp(x, { mn: 1 } as unknown as cg.ClampOptions), { name: 'TypeError', message: "cudagrad.clamp: unknown option 'mn' (expected one of min, max)" });
  t.throws(() => cg.clamp(x, { min: '0' } as unknown as cg.ClampOptions), { name: 'TypeError', message: "cudagrad.clamp: min must be a number, got the string '0'" });
  t.throws(() => cg.clamp(x, { min: NaN }), { name: 'RangeError', message: 'cudagrad.clamp: min is NaN' });
});
