// optim.Adam / AdamW update every parameter in one native call
// (adamStepMulti: one CUDA launch per 24 tensors) with the global-norm clip
// fused in. Checked on every device against the per-parameter path it
// replaces (clipGradNorm, then adamStep / adamwStep per parameter): the same
// bits; against a float64 reference of clip + AdamW within 1e-6; .grad left
// as backward computed it; one native call per step; bad input.
import t from 'tap';

import * as cg from '../lib/index';
import { GPTAdamW } from '../lib/models/gpt/train';
import { adamStepMulti, adamwStep, adamStep, clipGradNorm } from '../lib/ops/optim';
import { countCalls } from './helpers';
import { assertClose, testDevices, uniform } from './oracle';

// 30 parameters (two launches of 24 on CUDA): odd sizes, float4 tails, an empty one, 1-D and 2-D.
const SHAPES: number[][] = Array.from({ length: 30 }, (_, i) => (i % 7 === 3 ? [i + 2] : i === 11 ? [0] : [1 + (i % 5), 3 + ((i * 37) % 61)]));

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

// How many elements of a and b differ in their float32 bits.
function bitDiffs(a: Float32Array, b: Float32Array): number {
  let d = a.length === b.length ? 0 : Math.max(a.length, b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (!Object.is(a[i], b[i])) d++;
  return d;
}

function makeParams(device: cg.Device): cg.Tensor[] {
  return SHAPES.map((s, i) => cg.tensor(Float32Array.from(uniform(size(s), 100 + i, -1, 1)), { shape: s, device, requiresGrad: true }));
}

// Gradients of step k (scale: how large, to make the clip bite or not); parameter `skip` gets none.
function setGrads(params: cg.Tensor[], k: number, scale: number, skip: number): void {
  params.forEach((p, i) => {
    p.grad?.dispose();
    p.grad = i === skip ? null : cg.tensor(Float32Array.from(uniform(p.size, 1000 * k + i, -scale, scale)), { shape: [...p.shape], device: p.device });
  });
}

t.test('one native call per step, the same bits as clipGradNorm + per-parameter updates', async (t) => {
  for (const device of testDevices())
    for (const decoupled of [true, false])
      for (const clip of [null, 0.5, 1e6]) {
        const label = `${device} ${decoupled ? 'AdamW' : 'Adam'} clip ${clip}`;
        const a = makeParams(device);
        const b = makeParams(device);
        const o = { lr: 3e-3, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1, globalClipNorm: clip };
        const opt = decoupled ? new cg.optim.AdamW(a, o) : new cg.optim.Adam(a, o);
        const m = b.map((p) => cg.zeros([...p.shape], { device }));
        const v = b.map((p) => cg.zeros([...p.shape], { device }));
        const steps = b.map(() => 0);
        const spy = countCalls(['adamStepMulti']);
        try {
          for (let k = 1; k <= 3; k++) {
            // Step 2 leaves parameter 5 without a gradient: its step count then lags the others'.
            setGrads(a, k, 2, k === 2 ? 5 : -1);
            setGrads(b, k, 2, k === 2 ? 5 : -1);
            const before = a.map((p) => p.grad?.toArray());
            opt.step();
            a.forEach((p, i) => {
              if (p.grad) t.equal(bitDiffs(p.grad.toArray() as Float32Array, before[i] as Float32Array), 0, `${label}: step ${k} left grad ${i} as it was`);
            });
            // The reference path: clip the gradients in place, then one update per parameter.
            if (clip !== null) clipGradNorm(b.filter((p) => p.grad).map((p) => p.grad!), clip, { returnNorm: false });
            b.forEach((p, i) => {
              if (!p.grad) return;
              const so = { lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay, step: ++steps[i] };
              (decoupled ? adamwStep : adamStep)(p, p.grad, m[i], v[i], so);
            });
          }
        } finally {
          spy.restore();
        }
        t.equal(spy.counts.adamStepMulti, 3, `${label}: one native call per step`);
        const diffs = a.map((p, i) => bitDiffs(p.toArray() as Float32Array, b[i].toArray() as Float32Array));
        t.same(diffs, a.map(() => 0), `${label}: parameters bit for bit`);
        const sd = opt.stateDict();
        const md = m.map((x, i) => bitDiffs(sd.tensors[`${i}.m`].toArray() as Float32Array, x.toArray() as Float32Array) + bitDiffs(sd.tensors[`${i}.v`].toArray() as Float32Array, v[i].toArray() as Float32Array));
        t.same(md, m.map(() => 0), `${label}: moments bit for bit`);
        t.same(sd.steps, steps, `${label}: step counts (parameter 5 one behind)`);
      }
});

// clip_grad_norm_ then AdamW in float64 (torch 1.13's formulas), two steps.
t.test('clip + AdamW against a float64 reference', async (t) => {
  for (const device of testDevices()) {
    const params = makeParams(device);
    const ref = params.map((p) => Float64Array.from(p.toArray()));
    const mr = ref.map((r) => new Float64Array(r.length));
    const vr = ref.map((r) => new Float64Array(r.length));
    const [lr, b1, b2, eps, wd, maxNorm] = [1e-2, 0.9, 0.99, 1e-8, 0.05, 0.3];
    const opt = new cg.optim.AdamW(params, { lr, beta1: b1, beta2: b2, eps, weightDecay: wd, globalClipNorm: maxNorm });
    for (let k = 1; k <= 2; k++) {
      setGrads(params, k, 1, -1);
      const gs = params.map((p) => Float64Array.from(p.grad!.toArray()));
      const norm = Math.sqrt(gs.reduce((a, g) => a + g.reduce((s, x) => s + x * x, 0), 0));
      const coef = Math.min(1, maxNorm / (norm + 1e-6));
      t.ok(coef < 0.2, `${device} step ${k}: the clip bites (factor ${coef.toFixed(3)})`);
      opt.step();
      ref.forEach((p, i) => {
        for (let j = 0; j < p.length; j++) {
          const g = gs[i][j] * coef;
          p[j] *= 1 - lr * wd;
          mr[i][j] = b1 * mr[i][j] + (1 - b1) * g;
          vr[i][j] = b2 * vr[i][j] + (1 - b2) * g * g;
          p[j] -= (lr / (1 - b1 ** k)) * (mr[i][j] / (Math.sqrt(vr[i][j]) / Math.sqrt(1 - b2 ** k) + eps));
        }
      });
    }
    params.forEach((p, i) => assertClose(t, p.toArray(), ref[i], 1e-6, 1e-5, `${device} parameter ${i} (shape [${SHAPES[i]}])`));
  }
});

t.test('GPTAdamW: no weight decay on 1-D parameters, in the same call', async (t) => {
  for (const device of testDevices()) {
    const a = makeParams(device);
    const b = makeParams(device);
    const opt = new GPTAdamW(a, { lr: 0.1, weightDecay: 0.5 });
    setGrads(a, 1, 1, -1);
    setGrads(b, 1, 1, -1);
    opt.step();
    b.forEach((p, i) => adamwStep(p, p.grad!, cg.zeros([...p.shape], { device }), cg.zeros([...p.shape], { device }), { lr: 0.1, weightDecay: p.ndim < 2 ? 0 : 0.5, step: 1 }));
    t.same(a.map((p, i) => bitDiffs(p.toArray() as Float32Array, b[i].toArray() as Float32Array)), a.map(() => 0), `${device}: decay 0.5 on matrices, 0 on vectors`);
  }
});

t.test('bad input names the op and the tensor', async (t) => {
  const p = cg.zeros([2, 3]);
  const g = cg.zeros([2, 3]);
  const item = (over: Partial<Parameters<typeof adamStepMulti>[0][0]> = {}) => ({ param: p, grad: g, m: cg.zeros([2, 3]), v: cg.zeros([2, 3]), step: 1, weightDecay: 0, ...over });
  const o = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  t.throws(() => adamStepMulti([item(), item({ grad: cg.zeros([3, 2]) })], o, true, null), { name: 'RangeError', message: /cudagrad.adamwStep \(multi-tensor\) \(tensor 1\): .*grad.*\[3, 2\]/ });
  t.throws(() => adamStepMulti([item({ step: 0 })], o, false, null), { name: 'RangeError', message: /cudagrad.adamStep \(multi-tensor\) \(tensor 0\): step must be an integer >= 1/ });
  t.throws(() => adamStepMulti([item({ weightDecay: -1 })], o, true, null), { name: 'RangeError', message: /weightDecay must be a finite number >= 0, got -1/ });
  t.throws(() => adamStepMulti([item({ m: p })], o, true, null), { name: 'RangeError', message: /param and m share storage/ });
  t.throws(() => adamStepMulti([item()], o, true, -1), { name: 'RangeError', message: /maxNorm must be a number >= 0, got -1/ });
  t.throws(() => adamStepMulti([item({ grad: cg.zeros([2, 3], { dtype: 'int32' }) })], o, true, null), { name: 'TypeError', message: /grad/ });
  const nat = (require('../lib/native') as typeof import('../lib/native')).native as unknown as Record<string, (...a: unknown[]) => unknown>;
  t.throws(() => nat.adamStepMulti([p.handle('x')], [], [], [], [], [], 1e-3, 0.9, 0.999, 1e-8, true, null), { name: 'RangeError', message: /must have one entry per parameter, got 1, 0, 0, 0, 0 and 0/ });
  // Nothing was updated by the failed calls.
  t.same(Array.from(p.toArray()), [0, 0, 0, 0, 0, 0]);
  if (cg.cuda.available()) {
    const c = cg.zeros([2, 3], { device: 'cuda' });
    t.throws(() => adamStepMulti([item(), item({ param: c, grad: cg.zeros([2, 3], { device: 'cuda' }), m: cg.zeros([2, 3], { device: 'cuda' }), v: cg.zeros([2, 3], { device: 'cuda' }) })], o, true, null), { name: 'TypeError', message: /expected all tensors on one device, got cpu \(tensor 0\) and cuda(:0)? \(tensor 1\)/ });
  }
});

t.test('a failed step changes nothing; parameters on two devices update per device', async (t) => {
  // beta1 set out of range after construction: the native call refuses it before any update.
  const ps = [cg.tensor([1, 2, 3], { requiresGrad: true }), cg.tensor([4, 5], { requiresGrad: true })];
  ps.forEach((p) => (p.grad = cg.ones([...p.shape])));
  const opt = new cg.optim.AdamW(ps, { lr: 0.1 });
  opt.beta1 = 1.5;
  t.throws(() => opt.step(), { name: 'RangeError', message: /beta1 must be in \[0, 1\), got 1.5/ });
  t.same(opt.stateDict().steps, [0, 0], 'no step counted');
  t.same(Array.from(ps[0].toArray()), [1, 2, 3], 'no parameter changed');
  opt.beta1 = 0.9;
  opt.step();
  t.same(opt.stateDict().steps, [1, 1], 'the retry is the first step');
  const ref = [cg.tensor([1, 2, 3]), cg.tensor([4, 5])];
  ref.forEach((p) => adamwStep(p, cg.ones([...p.shape]), cg.zeros([...p.shape]), cg.zeros([...p.shape]), { lr: 0.1, step: 1 }));
  t.same(ps.map((p, i) => bitDiffs(p.toArray() as Float32Array, ref[i].toArray() as Float32Array)), [0, 0], 'and gives the first step\'s numbers');

  if (!cg.cuda.available()) return;
  const mixed = [cg.tensor([1, 2, 3], { requiresGrad: true }), cg.tensor([4, 5], { device: 'cuda', requiresGrad: true })];
  mixed.forEach((p) => (p.grad = cg.ones([...p.shape], { device: p.device })));
  new cg.optim.AdamW(mixed, { lr: 0.1 }).step();
  t.same(mixed.map((p, i) => bitDiffs(p.toArray() as Float32Array, ref[i].toArray() as Float32Array)), [0, 0], 'cpu + cuda parameters: each updated on its device');
  const clipped = new cg.optim.AdamW(mixed, { lr: 0.1, globalClipNorm: 1 });
  t.throws(() => clipped.step(), { name: 'TypeError', message: /expected all tensors on one device/ }, 'a global-norm clip needs one device');
});
