// Autograd through matmul and linear (fused bias and activation): gradients of
// composite expressions against central finite differences, the fused relu
// against its unfused composition, and the graph only where it is needed.
import t from 'tap';
import type { Test } from 'tap';

import * as cg from '../lib/index';
import { assertClose, f32, numericGrad, uniform } from './oracle';

// Analytic gradients of the scalar f(leaves) w.r.t. every leaf.
function analytic(f: (...xs: cg.Tensor[]) => cg.Tensor, xs: Float64Array[], shapes: number[][]): Float32Array[] {
  return cg.tidy(() => {
    const leaves = xs.map((x, i) => cg.tensor(Float32Array.from(x), { shape: shapes[i], requiresGrad: true }));
    f(...leaves).backward();
    const out = leaves.map((l) => l.grad!.toArray() as Float32Array);
    leaves.forEach((l) => l.grad!.dispose());
    return out;
  });
}

function numeric(f: (...xs: cg.Tensor[]) => cg.Tensor, xs: Float64Array[], shapes: number[][], k: number): Float64Array {
  return numericGrad(
    (xk) => cg.noGrad(() => cg.tidy(() => Array.from(f(...xs.map((x, i) => f32(i === k ? xk : x, shapes[i]))).toArray()).reduce((a, b) => a + b, 0))),
    xs[k],
    1e-2,
  );
}

function checkGrads(t: Test, name: string, f: (...xs: cg.Tensor[]) => cg.Tensor, shapes: number[][], seed: number, tol = 2e-2): void {
  const xs = shapes.map((s, i) => uniform(s.reduce((a, b) => a * b, 1), seed + i));
  const got = analytic(f, xs, shapes);
  for (let k = 0; k < xs.length; k++) assertClose(t, got[k], numeric(f, xs, shapes, k), tol, tol, `${name}: d/dx${k}`);
}

// A fixed weighting so the scalar depends on every output element differently.
const weigh = (y: cg.Tensor) => y.mul(f32(uniform(y.size, 99, 0.5, 1.5), [...y.shape])).sum();

t.test('matmul: gradients of composite expressions match finite differences', async (t) => {
  checkGrads(t, '2-D', (a, b) => weigh(cg.matmul(a, b)), [[3, 4], [4, 5]], 1);
  checkGrads(t, 'broadcast batch (2,1,3,4) @ (5,4,2)', (a, b) => weigh(a.matmul(b)), [[2, 1, 3, 4], [5, 4, 2]], 2);
  checkGrads(t, '1-D @ 2-D and 2-D @ 1-D', (v, m, w) => weigh(v.matmul(m)).add(weigh(m.matmul(w))), [[3], [3, 4], [4]], 3);
  checkGrads(t, 'dot product, reused operand', (v, w) => cg.matmul(v, w).mul(cg.matmul(v, v)), [[5], [5]], 4);
  checkGrads(t, 'chain with elementwise', (a, b, c) => weigh(a.matmul(b).tanh().matmul(c)), [[2, 3], [3, 4], [4, 2]], 5);
});

t.test('linear: gradients (bias, no bias, activations, 3-D input) match finite differences', async (t) => {
  checkGrads(t, 'with bias', (x, w, b) => weigh(cg.linear(x, w, b)), [[3, 4], [2, 4], [2]], 11);
  checkGrads(t, 'without bias, 3-D x', (x, w) => weigh(cg.linear(x, w)), [[2, 3, 4], [5, 4]], 12);
  for (const act of ['gelu', 'gelu_exact', 'tanh', 'sigmoid'] as const)
    checkGrads(t, `fused ${act}`, (x, w, b) => weigh(cg.linear(x, w, b, { activation: act })), [[3, 4], [2, 4], [2]], 13);
  // relu: data whose pre-activations stay 0.1 away from the kink (h = 0.01).
  const [x, w, b] = [uniform(12, 3), uniform(8, 4), uniform(2, 5)];
  const pre = cg.noGrad(() => cg.linear(f32(x, [3, 4]), f32(w, [2, 4]), f32(b, [2])).toArray());
  t.ok(Array.from(pre).every((v) => Math.abs(v) > 0.1) && pre.some((v) => v < 0) && pre.some((v) => v > 0), 'relu test data: both signs, away from 0');
  checkGrads(t, 'fused relu', (x, w, b) => weigh(cg.linear(x, w, b, { activation: 'relu' })), [[3, 4], [2, 4], [2]], 3);
  checkGrads(t, 'two-layer MLP', (x, w1, b1, w2) => weigh(cg.linear(cg.linear(x, w1, b1, { activation: 'tanh' }), w2).softmax()), [[4, 5], [3, 5], [3], [2, 3]], 31);
});

t.test('fused relu gradients equal the unfused composition bit for bit', async (t) => {
  cg.tidy(() => {
    const x = cg.randn([7, 33], { seed: 1, requiresGrad: true });
    const w = cg.randn([9, 33], { seed: 2, requiresGrad: true });
    const b = cg.randn([9], { seed: 3, requiresGrad: true });
    const d = cg.randn([7, 9], { seed: 4 });
    cg.linear(x, w, b, { activation: 'relu' }).backward(d);
    const fused = [x, w, b].map((p) => Array.from(p.grad!.toArray()));
    [x, w, b].forEach((p) => (p.grad = null));
    cg.relu(cg.linear(x, w, b)).backward(d);
    [x, w, b].forEach((p, i) => t.same(Array.from(p.grad!.toArray()), fused[i], `grad ${i}`));
  });
});

t.test('graph only where needed; fused forward under noGrad; clear errors', async (t) => {
  cg.tidy(() => {
    const x = cg.randn([4, 5], { seed: 5 });
    const w = cg.randn([3, 5], { seed: 6, requiresGrad: true });
    const y = cg.linear(x, w, null, { activation: 'gelu' });
    t.equal(y.gradNode?.name, 'gelu', 'gelu recorded after a plain linear');
    t.equal(y.gradNode?.inputs[0]?.gradNode?.name, 'linear');
    const z = cg.noGrad(() => cg.linear(x, w, null, { activation: 'gelu' }));
    t.equal(z.gradNode, null, 'no node under noGrad');
    t.same(Array.from(z.toArray()), Array.from(y.toArray()), 'fused and recorded forward agree');
    t.equal(cg.linear(x, w.detach()).gradNode, null, 'no node when nothing requires grad');
    t.equal(cg.matmul(x, w.detach().transpose(0, 1)).gradNode, null);
    y.sum().backward();
    t.same(w.grad!.shape, [3, 5]);
    t.throws(() => cg.linear(x, w, null, { activation: 'swish' as never }), {
      name: 'TypeError',
      message: "cudagrad.linear: unknown activation 'swish' (expected relu, gelu, gelu_exact, tanh or sigmoid)",
    });
  });
});
