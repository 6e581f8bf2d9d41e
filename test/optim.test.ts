// Optimizer updates against float64 re-implementations of torch 1.13's
// documented update rules (torch.optim.SGD, Adam, AdamW) over several steps at
// every SIMD level and on every device; gradient norm and clipping
// (torch.nn.utils.clip_grad_norm_), CUDA included; in-place semantics; bad
// input.
import t from 'tap';
import type { Test } from 'tap';

import * as cg from '../lib/index';
import { AdamOptions, SgdOptions } from '../lib/ops/optim';
import { assertClose, f32, forEachSimd, ODD_SIZES, testDevices, uniform } from './oracle';

const STEPS = 5;

// torch.optim.SGD, float64; buf undefined before the first step (torch's "buf is None").
function refSgd(p: Float64Array, grads: Float64Array[], o: Required<Omit<SgdOptions, 'firstStep'>>): { p: Float64Array; buf: Float64Array } {
  p = Float64Array.from(p);
  let buf: Float64Array | undefined;
  for (const grad of grads) {
    const d = grad.map((g, i) => g + o.weightDecay * p[i]);
    let step: Float64Array<ArrayBufferLike> = d;
    if (o.momentum !== 0) {
      buf = buf === undefined ? Float64Array.from(d) : buf.map((b, i) => o.momentum * b + (1 - o.dampening) * d[i]);
      const b = buf;
      step = o.nesterov ? d.map((x, i) => x + o.momentum * b[i]) : b;
    }
    for (let i = 0; i < p.length; i++) p[i] -= o.lr * step[i];
  }
  return { p, buf: buf ?? new Float64Array(p.length) };
}

// torch.optim.Adam (decoupled = false) / AdamW (decoupled = true), float64.
function refAdam(p: Float64Array, grads: Float64Array[], o: Required<Omit<AdamOptions, 'step'>>, decoupled: boolean) {
  p = Float64Array.from(p);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  grads.forEach((grad, k) => {
    const step = k + 1;
    const bc1 = 1 - o.beta1 ** step;
    const bc2 = 1 - o.beta2 ** step;
    for (let i = 0; i < p.length; i++) {
      let g = grad[i];
      if (decoupled) p[i] *= 1 - o.lr * o.weightDecay;
      else g += o.weightDecay * p[i];
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      p[i] -= ((o.lr / bc1) * m[i]) / (Math.sqrt(v[i]) / Math.sqrt(bc2) + o.eps);
    }
  });
  return { p, m, v };
}

const sgdCases: Required<Omit<SgdOptions, 'firstStep'>>[] = [
  { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 },
  { lr: 0.05, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0.1 },
  { lr: 0.1, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0 },
  { lr: 0.1, momentum: 0.9, dampening: 0.3, nesterov: false, weightDecay: 0.01 }, // first step: buf = g, no dampening
  { lr: 0.02, momentum: 0.8, dampening: 0, nesterov: true, weightDecay: 0.05 },
];
const adamCases: Required<Omit<AdamOptions, 'step'>>[] = [
  { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
  { lr: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1 },
];

function checkSteps(t: Test, sizes: number[], seed: number, device: cg.Device = 'cpu'): void {
  const dev = device === 'cpu' ? '' : `${device} `;
  for (const n of sizes) {
    const p0 = uniform(n, seed++, -2, 2);
    const grads = Array.from({ length: STEPS }, () => uniform(n, seed++, -1, 1));
    for (const o of sgdCases) {
      const p = f32(p0, [n], device);
      const buf = o.momentum ? cg.full([n], 123, { device }) : null; // junk: the first step must overwrite it
      grads.forEach((g, k) => cg.sgdStep(p, f32(g, [n], device), buf, { ...o, firstStep: k === 0 }));
      const ref = refSgd(p0, grads, o);
      const label = `${dev}sgd n=${n} ${JSON.stringify(o)}`;
      assertClose(t, p.toArray(), ref.p, 1e-6, 1e-5, label);
      if (buf) assertClose(t, buf.toArray(), ref.buf, 1e-6, 1e-5, `${label} buffer`);
    }
    for (const decoupled of [false, true]) {
      for (const o of adamCases) {
        const p = f32(p0, [n], device);
        const m = cg.zeros([n], { device });
        const v = cg.zeros([n], { device });
        const step = decoupled ? cg.adamwStep : cg.adamStep;
        grads.forEach((g, k) => step(p, f32(g, [n], device), m, v, { ...o, step: k + 1 }));
        const ref = refAdam(p0, grads, o, decoupled);
        const label = `${dev}${decoupled ? 'adamw' : 'adam'} n=${n} ${JSON.stringify(o)}`;
        assertClose(t, p.toArray(), ref.p, 1e-6, 1e-5, label);
        assertClose(t, m.toArray(), ref.m, 1e-7, 1e-5, `${label} m`);
        assertClose(t, v.toArray(), ref.v, 1e-9, 1e-5, `${label} v`);
      }
    }
  }
}

t.test('SGD, Adam, AdamW match float64 torch update rules over several steps at every SIMD level', (t) =>
  forEachSimd(t, (t) => checkSteps(t, [...ODD_SIZES, 100003], 1)),
);

// CUDA: float4 bodies with scalar tails (sizes 1, 7, 33, 257, 4099); the same
// tolerances (no transcendental functions: IEEE sqrt and division on the GPU).
t.test('every device: SGD, Adam, AdamW match the float64 update rules (CUDA when present)', async (t) => {
  for (const device of testDevices()) checkSteps(t, [...ODD_SIZES, 4099], 200, device);
});

t.test('every device: gradNorm and clipGradNorm (CUDA: two-stage device sums, device-side clip factor)', async (t) => {
  for (const device of testDevices()) {
    const sizes = [...ODD_SIZES, 0, 5000, 70001];
    const vals = sizes.map((n, k) => uniform(n, 80 + k, -3, 3));
    const ref = Math.sqrt(vals.reduce((a, v) => a + v.reduce((s, x) => s + x * x, 0), 0));
    const ts = vals.map((v) => f32(v, [v.length], device));
    assertClose(t, [cg.gradNorm(ts)], [ref], 0, 1e-12, `${device} gradNorm vs float64`);
    t.equal(cg.clipGradNorm(ts, ref * 2), cg.gradNorm(ts), `${device}: not clipped below maxNorm`);
    t.same(Array.from(ts[3].toArray()), Array.from(Float32Array.from(vals[3])), `${device}: values unchanged`);
    const norm = cg.clipGradNorm(ts, 1.5);
    assertClose(t, [norm], [ref], 0, 1e-12, `${device}: returned norm is the pre-clip norm`);
    const coef = Math.fround(1.5 / (ref + 1e-6));
    ts.forEach((x, k) => assertClose(t, x.toArray(), Array.from(vals[k], (v) => Math.fround(v) * coef), 1e-7, 1e-6, `${device} clipped tensor ${k}`));
    assertClose(t, [cg.gradNorm(ts)], [1.5], 0, 1e-6, `${device} norm after clipping`);
    // Float64 accumulation, special values, empty.
    assertClose(t, [cg.gradNorm([cg.tensor([3e20, 4e20], { device }), cg.tensor([0], { device })])], [5e20], 0, 1e-6, `${device} huge values`);
    assertClose(t, [cg.gradNorm([cg.tensor([3e-25, 4e-25], { device })])], [5e-25], 0, 1e-6, `${device} tiny values`);
    t.equal(cg.gradNorm([cg.zeros([0], { device }), cg.zeros([5], { device })]), 0);
    t.ok(Number.isNaN(cg.gradNorm([cg.zeros([3000], { device }), cg.tensor([NaN], { device })])), `${device}: NaN propagates`);
    t.equal(cg.gradNorm([cg.tensor([1, -Infinity], { device })]), Infinity);
    const g = cg.tensor([1e6, 2], { device });
    cg.clipGradNorm([g], Infinity);
    t.same(Array.from(g.toArray()), [1e6, 2], `${device}: infinite maxNorm never clips`);
  }
});

t.test('defaults: Adam weight decay 0, AdamW 1e-2; SGD without a buffer when momentum is 0', async (t) => {
  const p0 = uniform(33, 5, -1, 1);
  const g = uniform(33, 6);
  const run = (decoupled: boolean) => {
    const p = f32(p0, [33]);
    (decoupled ? cg.adamwStep : cg.adamStep)(p, f32(g, [33]), cg.zeros([33]), cg.zeros([33]), { step: 1 });
    return p.toArray();
  };
  const base = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  assertClose(t, run(false), refAdam(p0, [g], { ...base, weightDecay: 0 }, false).p, 1e-7, 1e-6, 'adam defaults');
  assertClose(t, run(true), refAdam(p0, [g], { ...base, weightDecay: 1e-2 }, true).p, 1e-7, 1e-6, 'adamw defaults');
  const p = f32(p0, [33]);
  cg.sgdStep(p, f32(g, [33]), null, { lr: 0.5 });
  assertClose(t, p.toArray(), Array.from(p0, (x, i) => x - 0.5 * g[i]), 1e-7, 1e-6, 'plain sgd');
  // A buffer passed with momentum 0 is left alone (torch keeps none).
  const buf = cg.full([33], 7);
  cg.sgdStep(p, f32(g, [33]), buf, { lr: 0.5 });
  t.ok(Array.from(buf.toArray()).every((x) => x === 7), 'buffer untouched with momentum 0');
});

t.test('gradNorm and clipGradNorm', (t) =>
  forEachSimd(t, async (t) => {
    const sizes = [...ODD_SIZES, 5000, 100003];
    const vals = sizes.map((n, k) => uniform(n, 40 + k, -3, 3));
    const ref = Math.sqrt(vals.reduce((a, v) => a + v.reduce((s, x) => s + x * x, 0), 0));
    const ts = vals.map((v) => f32(v, [v.length]));
    assertClose(t, [cg.gradNorm(ts)], [ref], 0, 1e-12, 'gradNorm vs float64');
    // Not clipped when the norm is below maxNorm: values unchanged.
    t.equal(cg.clipGradNorm(ts, ref * 2), cg.gradNorm(ts));
    t.same(Array.from(ts[2].toArray()), Array.from(Float32Array.from(vals[2])));
    // Clipped: returns the norm before, scales by maxNorm / (norm + 1e-6).
    const norm = cg.clipGradNorm(ts, 1.5);
    assertClose(t, [norm], [ref], 0, 1e-12, 'returned norm is the pre-clip norm');
    const coef = Math.fround(1.5 / (ref + 1e-6));
    ts.forEach((x, k) => assertClose(t, x.toArray(), Array.from(vals[k], (v) => Math.fround(v) * coef), 1e-7, 1e-6, `clipped tensor ${k}`));
    assertClose(t, [cg.gradNorm(ts)], [1.5], 0, 1e-6, 'norm after clipping');
  }),
);

t.test('gradNorm: float64 accumulation, special values, empty', async (t) => {
  // Squares overflow float32 (1e20^2) or underflow it (1e-25^2): accumulated in float64.
  assertClose(t, [cg.gradNorm([cg.tensor([3e20, 4e20]), cg.tensor([0])])], [5e20], 0, 1e-6, 'huge values');
  assertClose(t, [cg.gradNorm([cg.tensor([3e-25, 4e-25])])], [5e-25], 0, 1e-6, 'tiny values');
  t.equal(cg.gradNorm([]), 0);
  t.equal(cg.gradNorm([cg.zeros([0]), cg.zeros([5])]), 0);
  t.ok(Number.isNaN(cg.gradNorm([cg.tensor([0, NaN, 0])])), 'NaN propagates');
  t.ok(Number.isNaN(cg.gradNorm([cg.zeros([3000]), cg.tensor([NaN])])), 'NaN propagates from a zero block');
  t.equal(cg.gradNorm([cg.tensor([1, -Infinity])]), Infinity);
  // Infinite maxNorm: never clips.
  const g = cg.tensor([1e6, 2]);
  cg.clipGradNorm([g], Infinity);
  t.same(Array.from(g.toArray()), [1e6, 2]);
});

t.test('bad input', async (t) => {
  const p = cg.zeros([4]);
  const g = cg.zeros([4]);
  t.throws(() => cg.sgdStep(p, cg.zeros([5]), null, { lr: 0.1 }), { name: 'RangeError', message: 'cudagrad.sgdStep: grad has shape [5] but param has shape [4]' });
  t.throws(() => cg.sgdStep(p, g, null, { lr: 0.1, momentum: 0.9 }), { name: 'RangeError', message: 'cudagrad.sgdStep: momentum 0.9 needs a momentum buffer (a tensor of the parameter\'s shape)' });
  t.throws(() => cg.sgdStep(p, g, cg.zeros([4]), { lr: 0.1, nesterov: true }), { name: 'RangeError', message: 'cudagrad.sgdStep: Nesterov momentum needs momentum > 0 and dampening 0, got momentum 0 and dampening 0' });
  t.throws(() => cg.sgdStep(p, g, null, { lr: -1 }), { name: 'RangeError', message: 'cudagrad.sgdStep: lr must be a finite number >= 0, got -1' });
  t.throws(() => cg.sgdStep(p, g, null, {} as never), { name: 'TypeError', message: 'cudagrad.sgdStep: lr must be a number, got undefined' });
  t.throws(() => cg.sgdStep(p, g, null, { lr: 1, momentun: 0.9 } as never), { name: 'TypeError', message: "cudagrad.sgdStep: unknown option 'momentun' (expected one of lr, momentum, dampening, nesterov, weightDecay, firstStep)" });
  t.throws(() => cg.sgdStep(p, p, null, { lr: 1 }), { name: 'RangeError', message: 'cudagrad.sgdStep: param and grad share storage (the update writes in place)' });
  t.throws(() => cg.sgdStep(p, g, null, { lr: 1, nesterov: 1 } as never), { name: 'TypeError', message: 'cudagrad.sgdStep: nesterov must be a boolean, got number 1' });
  const m = cg.zeros([4]);
  const v = cg.zeros([4]);
  t.throws(() => cg.adamStep(p, g, m, m, { step: 1 }), { name: 'RangeError', message: 'cudagrad.adamStep: m and v share storage (the update writes in place)' });
  t.throws(() => cg.adamwStep(p, g, m, v, { step: 0 }), { name: 'RangeError', message: 'cudagrad.adamwStep: step must be an integer >= 1 (the step count after this update), got 0' });
  t.throws(() => cg.adamwStep(p, g, m, v, {} as never), { name: 'TypeError', message: 'cudagrad.adamwStep: step must be a number, got undefined' });
  t.throws(() => cg.adamStep(p, g, m, v, { step: 1, beta2: 1 }), { name: 'RangeError', message: 'cudagrad.adamStep: beta2 must be in [0, 1), got 1' });
  t.throws(() => cg.adamStep(p, g, m, v, { step: 1, eps: -1e-8 }), { name: 'RangeError', message: 'cudagrad.adamStep: eps must be a finite number >= 0, got -1e-08' });
  t.throws(() => cg.adamStep(p, g, cg.zeros([4], { dtype: 'int32' }), v, { step: 1 }), { name: 'TypeError', message: 'cudagrad.adamStep: m must be float32, got int32 tensor of shape [4]' });
  t.throws(() => cg.adamStep(p, g, m, cg.zeros([2, 2]), { step: 1 }), { name: 'RangeError', message: 'cudagrad.adamStep: v has shape [2, 2] but param has shape [4]' });
  t.throws(() => cg.gradNorm(p as never), { name: 'TypeError', message: 'cudagrad.gradNorm: tensors must be an array of tensors, got an object (Tensor)' });
  t.throws(() => cg.gradNorm([p, 3 as never]), { name: 'TypeError', message: 'cudagrad.gradNorm: tensors[1] must be a Tensor, got number 3' });
  t.throws(() => cg.gradNorm([cg.zeros([2], { dtype: 'int32' })]), { name: 'TypeError', message: 'cudagrad.gradNorm: tensor 0 must be float32, got int32 tensor of shape [2]' });
  t.throws(() => cg.clipGradNorm([p], -1), { name: 'RangeError', message: 'cudagrad.clipGradNorm: maxNorm must be a number >= 0, got -1' });
});

t.test('clipGradNorm with returnNorm: false scales the same and reads nothing back', async (t) => {
  for (const device of testDevices()) {
    const mk = () => [cg.randn([33], { seed: 1, std: 3, device }), cg.randn([7, 5], { seed: 2, std: 3, device })];
    const a = mk();
    const b = mk();
    const norm = cg.clipGradNorm(a, 1.5);
    t.ok(norm > 1.5, `${device}: the gradients were over the limit (${norm})`);
    t.ok(Number.isNaN(cg.clipGradNorm(b, 1.5, { returnNorm: false })), `${device}: NaN instead of the norm`);
    b.forEach((x, i) => t.same(Array.from(x.toArray()), Array.from(a[i].toArray()), `${device}: tensor ${i} scaled identically`));
  }
});
