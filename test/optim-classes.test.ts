// optim.SGD / Adam / AdamW classes against a float64 re-implementation of
// torch 1.13's update rules over 5 steps (a parameter without a gradient in
// one step keeps its own step count); state dicts that resume bit for bit;
// global-norm clipping; the learning-rate schedules; bad arguments.
import t from 'tap';

import * as cg from '../lib/index';
import { assertClose, f32, uniform } from './oracle';

const optim = cg.optim;
type Opt = cg.optim.Optimizer;

interface RefState {
  step: number;
  m: Float64Array;
  v: Float64Array;
  buf: Float64Array | null;
}

type Rule = (p: Float64Array, g: Float64Array, s: RefState) => void;

// torch.optim.SGD (1.13), float64.
const sgdRule = (lr: number, momentum = 0, dampening = 0, nesterov = false, wd = 0): Rule => (p, g0, s) => {
  const g = g0.map((v, i) => v + wd * p[i]);
  let d: Float64Array = g;
  if (momentum !== 0) {
    s.buf = s.buf === null ? Float64Array.from(g) : s.buf.map((b, i) => momentum * b + (1 - dampening) * g[i]);
    d = nesterov ? g.map((v, i) => v + momentum * s.buf![i]) : s.buf;
  }
  for (let i = 0; i < p.length; i++) p[i] -= lr * d[i];
};

// torch.optim.Adam / AdamW (1.13), float64.
const adamRule = (lr: number, b1: number, b2: number, eps: number, wd: number, decoupled: boolean): Rule => (p, g0, s) => {
  s.step++;
  if (decoupled) for (let i = 0; i < p.length; i++) p[i] *= 1 - lr * wd;
  const g = decoupled ? g0 : g0.map((v, i) => v + wd * p[i]);
  const bc1 = 1 - b1 ** s.step;
  const bc2 = 1 - b2 ** s.step;
  for (let i = 0; i < p.length; i++) {
    s.m[i] = b1 * s.m[i] + (1 - b1) * g[i];
    s.v[i] = b2 * s.v[i] + (1 - b2) * g[i] * g[i];
    p[i] -= (lr / bc1) * (s.m[i] / (Math.sqrt(s.v[i]) / Math.sqrt(bc2) + eps));
  }
};

const shapes = [[3, 7], [33]];
// Gradient of parameter k at step s (none for parameter 1 at step 2).
const gradAt = (k: number, s: number): Float64Array | null => (k === 1 && s === 2 ? null : uniform(shapes[k].reduce((a, b) => a * b, 1), 100 * s + k));

function run(make: (ps: cg.Tensor[]) => Opt, steps: number, from?: { params: cg.Tensor[]; opt: Opt }, start = 0) {
  const params = from?.params ?? shapes.map((s, k) => f32(uniform(s.reduce((a, b) => a * b, 1), 7 + k), s));
  params.forEach((p) => (p.requiresGrad = true));
  const opt = from?.opt ?? make(params);
  for (let s = start; s < start + steps; s++) {
    opt.zeroGrad();
    params.forEach((p, k) => {
      const g = gradAt(k, s);
      if (g) p.grad = f32(g, shapes[k]);
    });
    opt.step();
  }
  return { params, opt };
}

function reference(rule: Rule, steps: number): Float64Array[] {
  return shapes.map((s, k) => {
    const n = s.reduce((a, b) => a * b, 1);
    const p = uniform(n, 7 + k);
    const st: RefState = { step: 0, m: new Float64Array(n), v: new Float64Array(n), buf: null };
    for (let i = 0; i < steps; i++) {
      const g = gradAt(k, i);
      if (g) rule(p, g, st);
    }
    return p;
  });
}

const cases: [string, (ps: cg.Tensor[]) => Opt, Rule][] = [
  ['SGD', (ps) => new optim.SGD(ps, { lr: 0.1 }), sgdRule(0.1)],
  ['SGD momentum + dampening + weight decay', (ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 0.01 }), sgdRule(0.05, 0.9, 0.3, false, 0.01)],
  ['SGD Nesterov', (ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.8, nesterov: true }), sgdRule(0.05, 0.8, 0, true)],
  ['Adam', (ps) => new optim.Adam(ps, { lr: 0.01 }), adamRule(0.01, 0.9, 0.999, 1e-8, 0, false)],
  ['Adam L2 weight decay, custom betas', (ps) => new optim.Adam(ps, { lr: 0.02, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1 }), adamRule(0.02, 0.8, 0.99, 1e-6, 0.1, false)],
  ['AdamW (default decay 0.01)', (ps) => new optim.AdamW(ps, { lr: 0.01 }), adamRule(0.01, 0.9, 0.999, 1e-8, 0.01, true)],
];

t.test('5 steps match the float64 update rules', async (t) => {
  for (const [name, make, rule] of cases) {
    const { params, opt } = run(make, 5);
    const want = reference(rule, 5);
    params.forEach((p, k) => assertClose(t, p.toArray(), want[k], 1e-6, 1e-5, `${name}: param ${k}`));
    t.same(opt.stateDict().steps, [5, 4], `${name}: per-parameter step counts`);
    t.equal(opt.iterations, 5);
    opt.dispose();
    params.forEach((p) => p.dispose());
  }
});

t.test('stateDict / loadStateDict resume bit for bit', async (t) => {
  for (const [name, make] of cases) {
    const whole = run(make, 5);
    const half = run(make, 2);
    // A fresh optimizer over copies of the parameters, loaded from the state dict.
    const params = half.params.map((p) => {
      const c = cg.noGrad(() => p.clone());
      return c;
    });
    const sd = half.opt.stateDict();
    const json = JSON.parse(JSON.stringify({ ...sd, tensors: undefined }));
    const opt = make(params);
    opt.loadStateDict({ ...json, tensors: sd.tensors });
    half.opt.dispose();
    const resumed = run(make, 3, { params, opt }, 2);
    resumed.params.forEach((p, k) => t.same(Array.from(p.toArray()), Array.from(whole.params[k].toArray()), `${name}: param ${k} after 2 + 3 steps`));
    t.same(resumed.opt.stateDict().steps, whole.opt.stateDict().steps);
    [whole, resumed].forEach((r) => r.opt.dispose());
  }
  const a = new optim.Adam([cg.zeros([2], { requiresGrad: true })]);
  t.throws(() => a.loadStateDict({ type: 'SGD', options: {}, steps: [0], tensors: {} }), { name: 'RangeError', message: "optim.Adam.loadStateDict: state dict is for the string 'SGD', not Adam" });
  t.throws(() => a.loadStateDict({ type: 'Adam', options: {}, steps: [1], tensors: {} }), {
    name: 'RangeError',
    message: "optim.Adam.loadStateDict: missing state tensor '0.m' for a parameter with 1 steps",
  });
  t.throws(() => a.loadStateDict({ type: 'Adam', options: {}, steps: [1, 1], tensors: {} }), {
    name: 'RangeError',
    message: 'optim.Adam.loadStateDict: state dict has 2 parameter step counts, the optimizer has 1 parameters',
  });
});

t.test('global-norm clipping before the step; nn.clipGradNorm', async (t) => {
  const p = f32([1, 2, 3, 4], [4]);
  p.requiresGrad = true;
  p.grad = f32([3, 0, 0, 4], [4]);
  const norm = cg.nn.clipGradNorm([p], 1);
  t.equal(norm, 5);
  assertClose(t, p.grad.toArray(), [0.6, 0, 0, 0.8], 1e-6, 1e-5, 'scaled to norm 1');
  p.grad = f32([3, 0, 0, 4], [4]);
  const sgd = new optim.SGD([p], { lr: 1, globalClipNorm: 1 });
  sgd.step();
  assertClose(t, p.toArray(), [0.4, 2, 3, 3.2], 1e-6, 1e-5, 'SGD step with the clipped gradient');
  t.equal(cg.nn.clipGradNorm([f32([1], [1])], 1), 0, 'no gradients: norm 0');
});

t.test('learning-rate schedules', async (t) => {
  const p = cg.zeros([1], { requiresGrad: true });
  const opt = new optim.SGD([p], { lr: 0.1 });
  const step = new optim.StepLR(opt, { stepSize: 2, gamma: 0.5 });
  const lrs = [opt.lr];
  for (let i = 0; i < 5; i++) {
    step.step();
    lrs.push(opt.lr);
  }
  t.same(lrs, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025], 'StepLR');
  const adam = new optim.Adam([p], { lr: 1 });
  const cos = new optim.CosineWithWarmup(adam, { warmupSteps: 3, totalSteps: 7, minLr: 0.1 });
  const got = [adam.lr];
  for (let i = 0; i < 8; i++) {
    cos.step();
    got.push(adam.lr);
  }
  const want = [0.25, 0.5, 0.75, 1, 0.1 + 0.9 * (1 + Math.cos(Math.PI / 4)) / 2, 0.55, 0.1 + 0.9 * (1 + Math.cos((3 * Math.PI) / 4)) / 2, 0.1, 0.1];
  assertClose(t, got, want, 1e-12, 1e-12, 'CosineWithWarmup: linear warmup, cosine, then minLr');
  const state = cos.stateDict();
  const cos2 = new optim.CosineWithWarmup(adam, { warmupSteps: 3, totalSteps: 7, minLr: 0.1 });
  cos2.loadStateDict(state);
  t.equal(cos2.lastStep, 8);
  t.equal(adam.lr, 0.1);
  t.throws(() => new optim.StepLR(opt, { stepSize: 0 }), { name: 'RangeError', message: 'optim.StepLR: stepSize must be an integer >= 1, got number 0' });
  t.throws(() => new optim.CosineWithWarmup(adam, { warmupSteps: 5, totalSteps: 2 }), {
    name: 'RangeError',
    message: 'optim.CosineWithWarmup: totalSteps must be an integer >= warmupSteps (5), got number 2',
  });
  t.throws(() => new optim.StepLR({} as never, { stepSize: 1 }), { name: 'TypeError', message: 'optim.StepLR: optimizer must be an optim.Optimizer, got an object (Object)' });
});

t.test('bad optimizer arguments get clear errors', async (t) => {
  const p = cg.zeros([2], { requiresGrad: true });
  t.throws(() => new optim.SGD([p], { lr: -1 }), { name: 'RangeError', message: 'optim.SGD: lr must be a finite number >= 0, got -1' });
  t.throws(() => new optim.Adam([p], { beta1: 1 }), { name: 'RangeError', message: 'optim.Adam: beta1 must be in [0, 1), got 1' });
  t.throws(() => new optim.AdamW([p], { eps: 'small' as never }), { name: 'TypeError', message: "optim.AdamW: eps must be a number, got the string 'small'" });
  t.throws(() => new optim.SGD([p], { lr: 0.1, nesterov: true }), {
    name: 'RangeError',
    message: 'optim.SGD: nesterov needs momentum > 0 and dampening 0, got momentum 0, dampening 0',
  });
  t.throws(() => new optim.SGD([p], { lr: 0.1, momentun: 0.9 } as never), {
    name: 'TypeError',
    message: "optim.SGD: unknown option 'momentun' (expected one of lr, momentum, dampening, nesterov, weightDecay, globalClipNorm)",
  });
  t.throws(() => new optim.Adam([p, p]), { name: 'RangeError', message: 'optim.Adam: params[1] appears more than once' });
  t.throws(() => new optim.Adam([p.mul(2)]), { name: 'TypeError', message: 'optim.Adam: params[0] is not a leaf tensor (it was computed by mul); optimize parameters, not results' });
  t.throws(() => new optim.Adam([cg.zeros([2], { dtype: 'int32' })]), { name: 'TypeError', message: 'optim.Adam: params[0] must be float32, got shape [2], int32, cpu' });
  t.throws(() => new optim.Adam(p as never), { name: 'TypeError', message: 'optim.Adam: params must be an array of tensors (e.g. model.parameters()), got an object (Tensor)' });
  t.throws(() => new optim.Adam([1] as never), { name: 'TypeError', message: 'optim.Adam: params[0] must be a Tensor, got number 1' });
  const opt = new optim.Adam([p]);
  p.grad = cg.zeros([3]);
  t.throws(() => opt.step(), { name: 'RangeError', message: 'optim.Adam.step: params[0] has shape [2] but its grad has shape [3]' });
  p.grad = cg.zeros([2]);
  opt.lr = NaN;
  t.throws(() => opt.step(), { name: 'RangeError', message: 'optim.Adam.step: lr must be a finite number >= 0, got number NaN' });
});
