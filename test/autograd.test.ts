// Autograd: gradients of composite expressions against central finite
// differences, accumulation, backward(gradient), noGrad/detach, retainGraph,
// bad calls, and bounded memory over many steps.
import t from 'tap';
import type { Test } from 'tap';

import * as cg from '../lib/index';
import { assertClose, f32, numericGrad, uniform } from './oracle';

// Runs `f` (leaves -> scalar tensor) on float32 copies of `xs`; returns the analytic gradients.
function analytic(f: (...xs: cg.Tensor[]) => cg.Tensor, xs: Float64Array[], shapes: number[][]): Float32Array[] {
  return cg.tidy(() => {
    const leaves = xs.map((x, i) => cg.tensor(Float32Array.from(x), { shape: shapes[i], requiresGrad: true }));
    f(...leaves).backward();
    const out = leaves.map((l) => l.grad!.toArray() as Float32Array);
    leaves.forEach((l) => l.grad!.dispose());
    return out;
  });
}

// Central differences of the float64 sum of f's output w.r.t. input k.
function numeric(f: (...xs: cg.Tensor[]) => cg.Tensor, xs: Float64Array[], shapes: number[][], k: number, h = 1e-2): Float64Array {
  return numericGrad(
    (xk) =>
      cg.noGrad(() =>
        cg.tidy(() => {
          const ins = xs.map((x, i) => f32(i === k ? xk : x, shapes[i]));
          return Array.from(f(...ins).toArray()).reduce((a, b) => a + b, 0);
        }),
      ),
    xs[k],
    h,
  );
}

function checkGrads(t: Test, name: string, f: (...xs: cg.Tensor[]) => cg.Tensor, shapes: number[][], seed: number, lo = -1, hi = 1, tol = 2e-2) {
  const xs = shapes.map((s, i) => uniform(s.reduce((a, b) => a * b, 1), seed + i, lo, hi));
  const got = analytic(f, xs, shapes);
  for (let k = 0; k < xs.length; k++) assertClose(t, got[k], numeric(f, xs, shapes, k), tol, tol, `${name}: d/dx${k}`);
}


t.test('composite expressions match finite differences', async (t) => {
  checkGrads(t, 'broadcast arithmetic', (x, y) => x.mul(y).add(x.exp()).div(y.mul(y).add(1)).sum(), [[3, 4], [4]], 1);
  checkGrads(t, 'reused subexpression', (x) => {
    const s = x.tanh();
    return s.mul(s).add(s.sigmoid()).mean();
  }, [[2, 5]], 2);
  checkGrads(t, 'reductions over axes', (x) => x.sum(1).pow(2).add(x.max(0).mul(3).sum()).sum(), [[3, 4]], 3);
  checkGrads(t, 'softmax and log', (x, w) => x.softmax().mul(w).sum().add(x.logSoftmax(0).mul(w).sum()), [[3, 5], [3, 5]], 4);
  checkGrads(t, 'layerNorm with weight and bias', (x, w, b) => cg.layerNorm(x, w, b).mul(x).sum(), [[4, 6], [6], [6]], 5);
  checkGrads(t, 'shape ops: permute, slice, concat, split, reshape, transpose', (x, y) => {
    const p = x.permute(2, 0, 1).slice(1, 1, 3); // (2, 3, 4) -> (4, 2, 3) -> (4, 1, 3)
    const c = cg.concat([p.reshape(-1), y.reshape(-1)]);
    const [a, b] = cg.split(c, [10, c.size - 10]);
    return a.mul(a).sum().add(b.transpose(0, 0).sqrt().sum());
  }, [[2, 3, 4], [2, 3]], 6, 0.5, 2);
  checkGrads(t, 'gather', (x) => cg.gather(x, 1, cg.tensor([[0, 2, 2], [1, 1, 0]], { dtype: 'int32' })).mul(cg.tensor([[1, 2, 3], [4, 5, 6]])).sum(), [[2, 3]], 7);
  // Inputs kept 0.05 away from the kinks at -0.5, 0 and 0.6 (h = 0.01).
  const kinky = Float64Array.from(uniform(20, 8, -0.9, 0.9), (v) => ([-0.5, 0, 0.6].some((k) => Math.abs(v - k) < 0.05) ? v + 0.1 : v));
  const clampRelu = (x: cg.Tensor) => x.clamp({ min: -0.5, max: 0.6 }).add(x.relu()).sum();
  assertClose(t, analytic(clampRelu, [kinky], [[20]])[0], numeric(clampRelu, [kinky], [[20]], 0), 2e-2, 2e-2, 'clamp and relu: d/dx0');
  checkGrads(t, 'crossEntropy', (x) => cg.crossEntropy(x, cg.tensor([2, 0, 1], { dtype: 'int32' })), [[3, 4]], 9);
  checkGrads(t, 'embedding', (w) => cg.embedding(cg.tensor([[1, 0], [1, 1]], { dtype: 'int32' }), w).pow(2).sum(), [[3, 2]], 10);
  checkGrads(t, 'attention (causal) and the unfused composition agree in gradient', (q, k, v) => cg.attention(q, k, v, { causal: true }).mul(q).sum(), [[1, 2, 3, 4], [1, 2, 5, 4], [1, 2, 5, 4]], 12);
  checkGrads(t, 'matmul with broadcast batches', (a, b) => cg.matmul(a, b).pow(2).sum(), [[2, 1, 3, 4], [3, 4, 2]], 13);
  checkGrads(t, 'linear with bias and fused gelu', (x, w, b) => cg.linear(x, w, b, { activation: 'gelu' }).sum(), [[3, 5], [4, 5], [4]], 14);
  checkGrads(t, 'gelu, exp, neg, to, clone', (x) => x.gelu().neg().exp().to('cpu').clone().sum(), [[6]], 11);
});

t.test('gradients accumulate across backward calls; backward(gradient) for non-scalars', async (t) => {
  const x = cg.tensor([1, 2, 3], { requiresGrad: true });
  x.mul(2).sum().backward();
  x.mul(x).sum().backward();
  t.same(Array.from(x.grad!.toArray()), [2 + 2, 2 + 4, 2 + 6]);
  const y = cg.tensor([[1, 2], [3, 4]], { requiresGrad: true });
  y.mul(3).backward(cg.tensor([[1, 0], [0, 2]]));
  t.same(Array.from(y.grad!.toArray()), [3, 0, 0, 6]);
  t.ok(x.isLeaf && !x.mul(2).isLeaf);
});

t.test('noGrad, detach and requiresGrad propagation', async (t) => {
  const x = cg.tensor([1, 2], { requiresGrad: true });
  const a = cg.noGrad(() => x.mul(2));
  t.equal(a.requiresGrad, false);
  t.equal(a.gradNode, null);
  t.equal(x.detach().requiresGrad, false);
  const c = cg.tensor([5, 6]);
  t.equal(c.add(1).requiresGrad, false, 'no input requires grad: no graph');
  t.equal(c.add(x).requiresGrad, true);
  // A detached branch contributes nothing.
  x.mul(x.detach()).sum().backward();
  t.same(Array.from(x.grad!.toArray()), [1, 2]);
});

t.test('retainGraph, and clear errors for bad calls', async (t) => {
  const x = cg.tensor([1, 2], { requiresGrad: true });
  const y = x.mul(x).sum();
  y.backward();
  t.throws(() => y.backward(), { message: /backward through the graph a second time \(sum\)/ });
  const z = x.mul(x).sum();
  z.backward(null, { retainGraph: true });
  z.backward();
  t.same(Array.from(x.grad!.toArray()), [6, 12], 'three backward passes of 2x accumulated');
  t.throws(() => cg.tensor([1]).sum().backward(), { name: 'TypeError', message: /does not require gradients/ });
  t.throws(() => x.mul(2).backward(), { name: 'RangeError', message: /gradient can be omitted only for a one-element tensor, got shape \[2\]/ });
  t.throws(() => x.mul(2).backward(cg.zeros([3])), { name: 'RangeError', message: 'Tensor.backward: gradient has shape [3] but the tensor has shape [2]' });
});

t.test('a training-style loop in tidy keeps memory flat over thousands of steps', async (t) => {
  const w = cg.randn([64, 32], { seed: 1, requiresGrad: true });
  const b = cg.zeros([32], { requiresGrad: true });
  const x = cg.randn([16, 64], { seed: 2 });
  const step = () =>
    cg.tidy(() => {
      const h = x.reshape(16, 64, 1).mul(w.reshape(1, 64, 32)).sum(1).add(b).gelu();
      const loss = h.mul(h).mean();
      loss.backward();
      return loss.item();
    });
  step();
  const before = cg.memory();
  let last = 0;
  for (let i = 0; i < 3000; i++) last = step();
  t.ok(Number.isFinite(last));
  const after = cg.memory();
  t.equal(after.numTensors, before.numTensors, '3,000 steps: no tensor left behind (grads accumulate in place)');
  t.equal(after.numBytes, before.numBytes, '3,000 steps: no byte left behind');
});

t.test('fused attention equals softmax(q k^T / sqrt(D) + causal mask) v, forward and backward', async (t) => {
  cg.tidy(() => {
    const [B, H, Tq, Tk, D] = [2, 3, 5, 7, 8];
    const q = cg.randn([B, H, Tq, D], { seed: 21, requiresGrad: true });
    const k = cg.randn([B, H, Tk, D], { seed: 22, requiresGrad: true });
    const v = cg.randn([B, H, Tk, D], { seed: 23, requiresGrad: true });
    const w = cg.randn([B, H, Tq, D], { seed: 24 });
    const fused = cg.attention(q, k, v, { causal: true });
    const scores = cg.matmul(q, k.transpose(2, 3)).mul(1 / Math.sqrt(D));
    const unfused = cg.matmul(cg.softmax(scores, -1, { causal: true }), v);
    assertClose(t, fused.toArray(), unfused.toArray(), 1e-5, 1e-4, 'forward');
    fused.mul(w).sum().backward();
    const g1 = [q, k, v].map((x) => x.grad!.toArray());
    [q, k, v].forEach((x) => (x.grad = null));
    unfused.mul(w).sum().backward();
    [q, k, v].forEach((x, i) => assertClose(t, g1[i], x.grad!.toArray(), 3e-5, 3e-4, `d${'qkv'[i]}`));
  });
});
