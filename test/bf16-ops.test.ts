// Ops on bfloat16 tensors, on every device. Ops whose kernels are float32
// widen bf16 inputs exactly, compute in float32 and round the result once
// (lib/ops/cast.ts viaFloat32), so each bf16 result must equal the float32
// op on the same values, rounded to bf16, bit for bit; the gradients
// likewise (the bf16 gradient is the float32 gradient, for the same upstream
// gradient, rounded once). The rounding reference is independent of the
// kernels (test/oracle.ts bf16Round). Also: bf16 with float32 promotes to
// float32, comparisons keep float32 masks, argmax int32, and an op run
// without autograd leaves no temporary tensor behind.
import t from 'tap';

import * as cg from '../lib/index';
import { bf16Round, f32BitsOf, testDevices, uniform } from './oracle';

type Op = (...xs: cg.Tensor[]) => cg.Tensor;
interface Case {
  name: string;
  shapes: number[][];
  f: Op;
  lo?: number; // input range (default [-2, 2))
  hi?: number;
  grad?: boolean; // default true
}

const cases: Case[] = [
  { name: 'add (broadcast)', shapes: [[3, 5], [5]], f: (a, b) => cg.add(a, b) },
  { name: 'sub', shapes: [[4, 3], [4, 3]], f: (a, b) => cg.sub(a, b) },
  { name: 'mul', shapes: [[2, 7], [2, 7]], f: (a, b) => cg.mul(a, b) },
  { name: 'div', shapes: [[9], [9]], f: (a, b) => cg.div(a, b), lo: 0.5, hi: 3 },
  { name: 'pow scalar', shapes: [[6]], f: (a) => cg.pow(a, 3) },
  { name: 'add scalar', shapes: [[6]], f: (a) => cg.add(a, 0.1) },
  { name: 'neg', shapes: [[5]], f: (a) => cg.neg(a) },
  { name: 'exp', shapes: [[5]], f: (a) => cg.exp(a) },
  { name: 'log', shapes: [[5]], f: (a) => cg.log(a), lo: 0.1, hi: 4 },
  { name: 'sqrt', shapes: [[5]], f: (a) => cg.sqrt(a), lo: 0.1, hi: 4 },
  { name: 'clamp', shapes: [[11]], f: (a) => cg.clamp(a, { min: -0.5, max: 0.7 }) },
  { name: 'relu', shapes: [[3, 3]], f: (a) => cg.relu(a) },
  { name: 'gelu', shapes: [[3, 3]], f: (a) => cg.gelu(a) },
  { name: 'tanh', shapes: [[7]], f: (a) => cg.tanh(a) },
  { name: 'sigmoid', shapes: [[7]], f: (a) => cg.sigmoid(a) },
  { name: 'sum axis', shapes: [[4, 6]], f: (a) => cg.sum(a, 1) },
  { name: 'mean', shapes: [[4, 6]], f: (a) => cg.mean(a) },
  { name: 'max axis', shapes: [[5, 3]], f: (a) => cg.max(a, 0) },
  { name: 'matmul', shapes: [[3, 17], [17, 5]], f: (a, b) => cg.matmul(a, b) },
  { name: 'batched matmul', shapes: [[2, 3, 9], [9, 4]], f: (a, b) => cg.matmul(a, b) },
  { name: 'linear + bias + gelu', shapes: [[5, 8], [3, 8], [3]], f: (x, w, b) => cg.linear(x, w, b, { activation: 'gelu' }) },
  { name: 'softmax', shapes: [[3, 10]], f: (a) => cg.softmax(a) },
  { name: 'logSoftmax causal', shapes: [[4, 4]], f: (a) => cg.logSoftmax(a, { causal: true }) },
  { name: 'layerNorm', shapes: [[4, 12], [12], [12]], f: (x, w, b) => cg.layerNorm(x, w, b) },
  { name: 'dropout (seeded)', shapes: [[64]], f: (a) => cg.dropout(a, 0.3, { seed: 5 }) },
];

// Values exactly representable in bf16 (so both dtypes hold the same numbers).
function bfValues(n: number, seed: number, lo: number, hi: number): number[] {
  return Array.from(uniform(n, seed, lo, hi), bf16Round);
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

// First index where got != bf16Round(want) as bit patterns ('' when none).
function roundedDiff(got: ArrayLike<number>, want: ArrayLike<number>): string {
  if (got.length !== want.length) return `length ${got.length} vs ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    const w = bf16Round(want[i]);
    const same = Number.isNaN(w) ? Number.isNaN(got[i]) : f32BitsOf(got[i]) === f32BitsOf(w);
    if (!same) return `at ${i}: got ${got[i]}, want ${w} (float32 ${want[i]})`;
  }
  return '';
}

for (const device of testDevices()) {
  t.test(`bf16 ops = float32 ops rounded once, forward and backward (${device})`, (t) => {
    cases.forEach((c, ci) => {
      const vals = c.shapes.map((s, k) => bfValues(size(s), 100 * ci + k, c.lo ?? -2, c.hi ?? 2));
      const x16 = vals.map((v, k) => cg.tensor(v, { shape: c.shapes[k], dtype: 'bfloat16', device, requiresGrad: c.grad !== false }));
      const x32 = vals.map((v, k) => cg.tensor(v, { shape: c.shapes[k], device, requiresGrad: c.grad !== false }));
      const y16 = c.f(...x16);
      const y32 = c.f(...x32);
      t.equal(y16.dtype, 'bfloat16', `${c.name}: bf16 in, bf16 out`);
      t.equal(roundedDiff(y16.toArray(), y32.toArray()), '', `${c.name}: forward`);
      if (c.grad === false) return;
      const w = bfValues(y32.size, 7 + ci, -1, 1);
      y16.backward(cg.tensor(w, { shape: [...y16.shape], dtype: 'bfloat16', device }));
      y32.backward(cg.tensor(w, { shape: [...y32.shape], device }));
      x16.forEach((x, k) => {
        t.equal(x.grad?.dtype, 'bfloat16', `${c.name}: input ${k} gradient is bf16`);
        t.equal(roundedDiff(x.grad!.toArray(), x32[k].grad!.toArray()), '', `${c.name}: gradient of input ${k}`);
      });
    });
    t.end();
  });

  t.test(`bf16 losses, indices, masks and promotion (${device})`, (t) => {
    const logits = bfValues(4 * 7, 1, -3, 3);
    const targets = cg.tensor([1, 6, 0, 3], { dtype: 'int32', device });
    const l16 = cg.tensor(logits, { shape: [4, 7], dtype: 'bfloat16', device, requiresGrad: true });
    const l32 = cg.tensor(logits, { shape: [4, 7], device, requiresGrad: true });
    const loss16 = cg.crossEntropy(l16, targets);
    const loss32 = cg.crossEntropy(l32, targets);
    t.equal(loss16.dtype, 'bfloat16', 'crossEntropy of bf16 logits is bf16 (as torch)');
    t.equal(roundedDiff(loss16.toArray(), loss32.toArray()), '', 'crossEntropy forward');
    loss16.backward();
    loss32.backward();
    t.equal(roundedDiff(l16.grad!.toArray(), l32.grad!.toArray()), '', 'crossEntropy gradient (dloss = 1)');

    const table = bfValues(6 * 4, 2, -1, 1);
    const idx = cg.tensor([[0, 5, 5], [2, 0, 1]], { dtype: 'int32', device });
    const w16 = cg.tensor(table, { shape: [6, 4], dtype: 'bfloat16', device, requiresGrad: true });
    const w32 = cg.tensor(table, { shape: [6, 4], device, requiresGrad: true });
    const e16 = cg.embedding(idx, w16);
    t.equal(e16.dtype, 'bfloat16');
    t.equal(roundedDiff(e16.toArray(), cg.embedding(idx, w32).toArray()), '', 'embedding rows');
    const up = bfValues(2 * 3 * 4, 3, -1, 1);
    e16.backward(cg.tensor(up, { shape: [2, 3, 4], dtype: 'bfloat16', device }));
    cg.embedding(idx, w32).backward(cg.tensor(up, { shape: [2, 3, 4], device }));
    t.equal(roundedDiff(w16.grad!.toArray(), w32.grad!.toArray()), '', 'embedding backward (repeated rows summed in float32)');

    const a = cg.tensor(bfValues(8, 4, -1, 1), { dtype: 'bfloat16', device });
    const am = cg.argmax(a);
    t.equal(am.dtype, 'int32');
    t.equal(am.item(), cg.argmax(a.cast('float32')).item(), 'argmax');
    const gt = cg.gt(a, 0);
    t.equal(gt.dtype, 'float32', 'comparisons give float32 masks');
    t.same(Array.from(gt.toArray()), Array.from(a.toArray(), (v) => (v > 0 ? 1 : 0)));
    const f = cg.tensor(bfValues(8, 5, -1, 1), { device });
    const mixed = cg.mul(a, f);
    t.equal(mixed.dtype, 'float32', 'bf16 with float32 promotes to float32');
    t.same(Array.from(mixed.toArray()), Array.from(cg.mul(a.cast('float32'), f).toArray()));
    t.end();
  });

  t.test(`bf16 ops without autograd leave no temporaries (${device})`, (t) => {
    const x = cg.randn([16, 8], { dtype: 'bfloat16', device, seed: 1 });
    const w = cg.randn([4, 8], { dtype: 'bfloat16', device, seed: 2 });
    const before = cg.memory().numTensors;
    const y = cg.linear(x, w, null, { activation: 'relu' });
    const s = cg.softmax(y);
    t.equal(cg.memory().numTensors, before + 2, 'only the two results remain');
    [x, w, y, s].forEach((u) => u.dispose());
    t.end();
  });
}
