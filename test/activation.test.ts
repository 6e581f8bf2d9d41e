// Activations forward and backward: float64 oracle at every SIMD level, finite
// differences, special values, bad input. The exact GELU's own checks (tail
// accuracy, specials, gelu options, fused epilogue) are in gelu-exact.test.ts.
import t from 'tap';

import * as cg from '../lib/index';
import { activationBackward } from '../lib/ops/activation';
import { geluExact, geluExactGrad } from './erf-ref';
import { assertClose, dot, f32, forEachSimd, numericGrad, ODD_SIZES, testDevices, uniform } from './oracle';

type Kind = 'relu' | 'gelu' | 'gelu_exact' | 'tanh' | 'sigmoid';
const K = Math.sqrt(2 / Math.PI);

const ref: Record<Kind, { f: (x: number) => number; df: (x: number) => number }> = {
  relu: { f: (x) => Math.max(0, x), df: (x) => (x > 0 ? 1 : 0) },
  gelu: {
    f: (x) => 0.5 * x * (1 + Math.tanh(K * (x + 0.044715 * x ** 3))),
    df: (x) => {
      const th = Math.tanh(K * (x + 0.044715 * x ** 3));
      return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * K * (1 + 3 * 0.044715 * x * x);
    },
  },
  // float64 erfc reference (erf-ref.ts); the kernels' erfc is within 5e-7 absolute.
  gelu_exact: { f: geluExact, df: geluExactGrad },
  tanh: { f: Math.tanh, df: (x) => 1 - Math.tanh(x) ** 2 },
  sigmoid: { f: (x) => 1 / (1 + Math.exp(-x)), df: (x) => Math.exp(-x) / (1 + Math.exp(-x)) ** 2 },
};
const kinds = Object.keys(ref) as Kind[];
const fwd = (k: Kind, x: cg.Tensor) => (k === 'gelu_exact' ? cg.gelu(x, { approximate: 'none' }) : cg[k](x));

t.test('forward and backward match the float64 reference at every SIMD level', (t) =>
  forEachSimd(t, (t) => {
    for (const n of [...ODD_SIZES, 100003]) {
      const xv = uniform(n, n, -6, 6);
      const dv = uniform(n, n + 1, -2, 2);
      const x = f32(xv, [n]);
      const dout = f32(dv, [n]);
      for (const k of kinds) {
        assertClose(t, fwd(k, x).toArray(), Array.from(xv, ref[k].f), 1e-6, 1e-5, `${k} forward n=${n}`);
        const want = Array.from(xv, (v, i) => dv[i] * ref[k].df(v));
        assertClose(t, activationBackward(k, dout, x).toArray(), want, 1e-6, 1e-5, `${k} backward n=${n}`);
      }
    }
  }),
);

t.test('every device matches the float64 reference (CUDA when present)', async (t) => {
  for (const device of testDevices()) {
    for (const n of [1, 7, 33, 257, 4099]) {
      const xv = uniform(n, n + 7, -6, 6);
      const dv = uniform(n, n + 8, -2, 2);
      const x = f32(xv, [n], device);
      const dout = f32(dv, [n], device);
      for (const k of kinds) {
        const y = fwd(k, x);
        t.equal(y.device, device);
        assertClose(t, y.toArray(), Array.from(xv, ref[k].f), 1e-6, 1e-5, `${device} ${k} forward n=${n}`);
        const want = Array.from(xv, (v, i) => dv[i] * ref[k].df(v));
        assertClose(t, activationBackward(k, dout, x).toArray(), want, 1e-6, 1e-5, `${device} ${k} backward n=${n}`);
      }
    }
  }
});

t.test('backward agrees with central finite differences', async (t) => {
  const n = 7;
  // Keep relu's inputs away from its kink at 0.
  const xv = uniform(n, 3, -3, 3).map((v) => (Math.abs(v) < 0.05 ? 0.5 : v));
  const w = uniform(n, 4);
  for (const k of kinds) {
    const loss = (x: Float64Array) => dot(fwd(k, f32(x, [n])).toArray(), w);
    const num = numericGrad(loss, xv, 1e-2);
    const got = activationBackward(k, f32(w, [n]), f32(xv, [n])).toArray();
    assertClose(t, got, num, 2e-3, 2e-2, `${k} analytic vs numeric`);
  }
});

t.test('shapes are kept; methods on Tensor; special values', async (t) => {
  const x = cg.tensor([[-1, 0, 2], [NaN, Infinity, -Infinity]]);
  t.same(x.relu().shape, [2, 3]);
  const r = Array.from(x.relu().toArray());
  t.same(r.slice(0, 3), [0, 0, 2]);
  t.ok(Number.isNaN(r[3]), 'relu(NaN) = NaN');
  t.same(r.slice(4), [Infinity, 0]);
  t.same(Array.from(x.tanh().toArray()).slice(4), [1, -1]);
  t.same(Array.from(x.sigmoid().toArray()).slice(4), [1, 0]);
  const g = Array.from(x.gelu().toArray());
  t.equal(g[4], Infinity);
  t.ok(Number.isNaN(g[5]), 'gelu(-inf) = -inf * 0 = NaN, as PyTorch');
  // Where 1 + tanh(u) cancels in float32, gelu keeps its tiny value: gelu(-6) = -6 * sigmoid(2u).
  const u = K * (-6 - 0.044715 * 216);
  assertClose(t, cg.gelu(cg.tensor([-6])).toArray(), [-6 / (1 + Math.exp(-2 * u))], 0, 1e-5, 'gelu(-6) relative accuracy');
  t.equal(cg.gelu(cg.zeros([0])).size, 0);
});

t.test('bad input', async (t) => {
  t.throws(() => cg.relu(cg.tensor([1], { dtype: 'int32' })), { name: 'TypeError', message: 'cudagrad.relu: input must be float32, got int32 tensor of shape [1]' });
  t.throws(() => cg.gelu([1, 2] as unknown as cg.Tensor), { name: 'TypeError', message: 'cudagrad.gelu: x must be a Tensor, got an array' });
  t.throws(() => activationBackward('tanh', cg.zeros([3]), cg.zeros([2])), { name: 'RangeError', message: 'cudagrad.tanh backward: dout has shape [3] but input has shape [2]' });
  const d = cg.zeros([2]);
  d.dispose();
  t.throws(() => cg.sigmoid(d), { name: 'TypeError', message: /cudagrad.sigmoid: tensor was disposed/ });
});
