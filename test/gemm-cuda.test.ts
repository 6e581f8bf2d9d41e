// The CUDA GEMM at each matmul precision (on a GPU, or the SIMT emulator in
// `npm test`'s second run): all transposes, alpha/beta, padded leading dims
// holding NaN (never read), bias + activation epilogue with preact, strided
// batches, matmul/linear and their backward; against float64 references.
//
// Tolerance: |got - want| <= f S with S = sum_k |a_ik b_kj| (+ |beta c|):
//   'highest' (float32 FMA):  f = (8 sqrt(K) + 8) 2^-24 (as test/matmul.test.ts)
//   'high'    (TF32 inputs):  f = 2 * 2^-11 + that (each input rounded to 10 mantissa bits)
//   'medium'  (bf16 inputs):  f = 2 * 2^-8 + that (7 mantissa bits)
import t from 'tap';
import type { Test } from 'tap';

import * as cg from '../lib/index';
import { gemm, linearBackward, matmulBackward } from '../lib/ops/matmul';
import { assertWithinScale, gemmErrorFactor, uniform } from './oracle';

let seed = 100;
const rnd = (n: number) => uniform(n, seed++, -1, 1);

function check(t: Test, got: ArrayLike<number>, want: ArrayLike<number>, s: ArrayLike<number>, K: number, prec: cg.MatmulPrecision, label: string) {
  assertWithinScale(t, got, want, s, gemmErrorFactor(K, prec), label);
}

const dev = (x: ArrayLike<number>, shape: number[]) => cg.tensor(Float32Array.from(x), { shape, device: 'cuda' });

t.test('CUDA GEMM at every precision (needs a GPU or the emulator)', async (t) => {
  if (!cg.cuda.available()) {
    t.skip(`no CUDA device: ${cg.cuda.reason()}`, () => {});
    return;
  }
  const before = cg.getMatmulPrecision();
  t.teardown(() => cg.setMatmulPrecision(before));
  for (const prec of ['highest', 'high', 'medium'] as cg.MatmulPrecision[]) {
    cg.setMatmulPrecision(prec);
    t.equal(cg.getMatmulPrecision(), prec);
    for (const [M, N, K] of [[1, 1, 1], [7, 33, 5], [129, 131, 37], [33, 257, 70]]) {
      const a = rnd(M * K);
      const b = rnd(K * N);
      const c0 = rnd(M * N);
      const bias = rnd(N);
      for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
        const pad = 3;
        const lda = (ta ? M : K) + pad;
        const ldb = (tb ? K : N) + pad;
        const ldc = N + pad;
        const A = new Float64Array(((ta ? K : M) - 1) * lda + (ta ? M : K)).fill(NaN);
        const B = new Float64Array(((tb ? N : K) - 1) * ldb + (tb ? K : N)).fill(NaN);
        for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) A[ta ? k * lda + i : i * lda + k] = a[i * K + k];
        for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) B[tb ? j * ldb + k : k * ldb + j] = b[k * N + j];
        const C = new Float64Array((M - 1) * ldc + N).fill(NaN);
        for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) C[i * ldc + j] = c0[i * N + j];
        const alpha = 0.75;
        const beta = ta && tb ? 0 : -0.5;
        const { out, pre } = cg.tidy(() => {
          const r = gemm(dev(A, [A.length]), dev(B, [B.length]), dev(C, [C.length]), {
            transA: ta, transB: tb, m: M, n: N, k: K, alpha, beta, lda, ldb, ldc,
            bias: dev(bias, [N]), activation: 'gelu', preact: true,
          });
          return { out: r.out.toArray(), pre: r.preact!.toArray() };
        });
        const want = new Float64Array(M * N);
        const s = new Float64Array(M * N);
        const gotPre = new Float64Array(M * N);
        const gotOut = new Float64Array(M * N);
        for (let i = 0; i < M; i++)
          for (let j = 0; j < N; j++) {
            let acc = 0;
            let sa = 0;
            for (let k = 0; k < K; k++) {
              acc += a[i * K + k] * b[k * N + j];
              sa += Math.abs(a[i * K + k] * b[k * N + j]);
            }
            want[i * N + j] = alpha * acc + beta * c0[i * N + j] + bias[j];
            s[i * N + j] = Math.abs(alpha) * sa + Math.abs(beta * c0[i * N + j]) + Math.abs(bias[j]);
            gotPre[i * N + j] = pre[i * ldc + j];
            gotOut[i * N + j] = out[i * ldc + j];
          }
        const label = `${prec} ${M}x${N}x${K} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}`;
        check(t, gotPre, want, s, K, prec, `${label} preact`);
        const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
        // gelu' <= 1.13: the activation adds at most that factor to the tolerance (and float32 rounding).
        check(t, gotOut, Array.from(gotPre, gelu), gotPre.map((v) => 1.2 * Math.abs(v) + 1e-6), 1, prec, `${label} gelu(preact)`);
        const untouched = out.every((v, i) => (i % ldc < N ? true : Number.isNaN(v)));
        t.ok(untouched, `${label}: nothing written into the ldc padding`);
      }
    }
  }
});

t.test('CUDA matmul (broadcast batches), linear and backward vs the CPU', async (t) => {
  if (!cg.cuda.available()) {
    t.skip(`no CUDA device: ${cg.cuda.reason()}`, () => {});
    return;
  }
  const close = (got: ArrayLike<number>, want: ArrayLike<number>, label: string, tol = 1e-4) => {
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (tol * (1 + Math.abs(want[i]))));
    t.ok(got.length === want.length && worst <= 1, `${label} (max err ${worst.toFixed(3)} of tolerance)`);
  };
  cg.tidy(() => {
    const a = cg.randn([2, 1, 7, 33], { seed: 1 });
    const b = cg.randn([3, 33, 9], { seed: 2 });
    const cpu = cg.matmul(a, b);
    const gpu = cg.matmul(a.to('cuda'), b.to('cuda'));
    t.same(gpu.shape, [2, 3, 7, 9]);
    close(gpu.toArray(), cpu.toArray(), 'broadcast batched matmul');
    const d = cg.randn([2, 3, 7, 9], { seed: 3 });
    const gc = matmulBackward(d, a, b);
    const gg = matmulBackward(d.to('cuda'), a.to('cuda'), b.to('cuda'));
    close(gg.da.toArray(), gc.da.toArray(), 'matmul backward da (batch summed)');
    close(gg.db.toArray(), gc.db.toArray(), 'matmul backward db (batch summed)');
    const x = cg.randn([5, 4, 37], { seed: 4 });
    const w = cg.randn([19, 37], { seed: 5 });
    const bias = cg.randn([19], { seed: 6 });
    close(cg.linear(x.to('cuda'), w.to('cuda'), bias.to('cuda'), { activation: 'relu' }).toArray(), cg.linear(x, w, bias, { activation: 'relu' }).toArray(), 'linear + bias + relu');
    const dy = cg.randn([5, 4, 19], { seed: 7 });
    const lc = linearBackward(dy, x, w, true);
    const lg = linearBackward(dy.to('cuda'), x.to('cuda'), w.to('cuda'), true);
    close(lg.dx.toArray(), lc.dx.toArray(), 'linear backward dx');
    close(lg.dweight.toArray(), lc.dweight.toArray(), 'linear backward dweight');
    close(lg.dbias!.toArray(), lc.dbias!.toArray(), 'linear backward dbias');
  });
});

t.test('setMatmulPrecision rejects unknown values', async (t) => {
  t.throws(() => cg.setMatmulPrecision('low' as cg.MatmulPrecision), { name: 'TypeError', message: "cudagrad.setMatmulPrecision: unknown precision 'low' (expected 'highest', 'high' or 'medium')" });
});

t.test('autocast: a training step in bf16 mixed precision stays close to float32 (needs a GPU or the emulator)', async (t) => {
  if (!cg.cuda.available()) {
    t.skip(`no CUDA device: ${cg.cuda.reason()}`, () => {});
    return;
  }
  // Tolerance: bf16 operands (8 significant bits) in every product; the loss and the
  // gradients of this 2-layer MLP stay within 2e-2 relative of float32 (observed ~3e-3).
  const step = () =>
    cg.tidy(() => {
      cg.manualSeed(3);
      const net = new cg.nn.Sequential(new cg.nn.Linear(32, 64), new cg.nn.GELU(), new cg.nn.Linear(64, 10)).to('cuda');
      const x = cg.randn([16, 32], { seed: 4, device: 'cuda' });
      const y = cg.tensor(Int32Array.from({ length: 16 }, (_, i) => i % 10), { device: 'cuda' });
      const loss = cg.crossEntropy(net.forward(x), y);
      loss.backward();
      const grads = net.parameters().map((p) => p.grad!.toArray());
      const out = { loss: loss.item(), grads };
      net.dispose();
      return out;
    });
  const before = cg.getMatmulPrecision();
  const fp32 = step();
  const mixed = cg.autocast(step);
  t.equal(cg.getMatmulPrecision(), before, 'precision restored');
  t.ok(Math.abs(mixed.loss - fp32.loss) <= 2e-2 * Math.abs(fp32.loss), `loss ${mixed.loss} vs ${fp32.loss}`);
  fp32.grads.forEach((g, k) => {
    let num = 0;
    let den = 0;
    for (let i = 0; i < g.length; i++) {
      num += (mixed.grads[k][i] - g[i]) ** 2;
      den += g[i] ** 2;
    }
    t.ok(Math.sqrt(num / den) <= 2e-2, `parameter ${k}: relative gradient error ${Math.sqrt(num / den).toExponential(2)}`);
  });
  t.throws(() => cg.autocast(42 as unknown as () => void), { name: 'TypeError', message: /cudagrad.autocast: expected a function/ });
});
