// The sm_90a wgmma GEMM path ('medium' precision with CUDAGRAD_GEMM_WGMMA=1,
// native/cuda/gemm_wgmma.cu), on the SIMT emulator in `npm test`'s second run
// or on an sm_90 GPU: odd sizes across block and k-tile edges, all transposes,
// padded leading dimensions holding NaN (never read), alpha/beta/bias/gelu
// with preact, strided batches with a broadcast (stride 0) operand; against
// float64 references with the bf16 tolerance of test/gemm-cuda.test.ts:
//   |got - want| <= (2 * 2^-8 + (8 sqrt(K) + 8) 2^-24) * S, S = sum_k |a_ik b_kj| (+ |beta c| + |bias|).
// cg.cuda.gemmLaunches() proves the wgmma kernel ran (and not the mma.sync one).
process.env.CUDAGRAD_GEMM_WGMMA = '1'; // read once, at the first CUDA GEMM

import t from 'tap';
import type { Test } from 'tap';

import * as cg from '../lib/index';
import { gemm } from '../lib/ops/matmul';
import { assertWithinScale, gemmErrorFactor, uniform } from './oracle';

const F = (K: number) => gemmErrorFactor(K, 'medium');
let seed = 700;
const rnd = (n: number) => uniform(n, seed++, -1, 1);
const dev = (x: ArrayLike<number>) => cg.tensor(Float32Array.from(x), { shape: [x.length], device: 'cuda' });
const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

interface Case {
  M: number;
  N: number;
  K: number;
  ta: boolean;
  tb: boolean;
  batch?: number;
  broadcastA?: boolean; // strideA = 0
  epilogue?: boolean; // alpha, beta, bias, gelu, preact
}

// Runs one GEMM on the device and checks it; returns nothing (assertions only).
function runCase(t: Test, c: Case) {
  const { M, N, K, ta, tb } = c;
  const batch = c.batch ?? 1;
  const pad = 3;
  const lda = (ta ? M : K) + pad;
  const ldb = (tb ? K : N) + pad;
  const ldc = N + pad;
  const sizeA = ((ta ? K : M) - 1) * lda + (ta ? M : K);
  const sizeB = ((tb ? N : K) - 1) * ldb + (tb ? K : N);
  const sizeC = (M - 1) * ldc + N;
  const strideA = c.broadcastA ? 0 : sizeA + 5;
  const strideB = sizeB + 2;
  const strideC = sizeC + 1;
  const nA = c.broadcastA ? 1 : batch;
  const a = Array.from({ length: nA }, () => rnd(M * K));
  const b = Array.from({ length: batch }, () => rnd(K * N));
  const c0 = Array.from({ length: batch }, () => rnd(M * N));
  const bias = rnd(N);
  const A = new Float64Array((nA - 1) * strideA + sizeA).fill(NaN);
  const B = new Float64Array((batch - 1) * strideB + sizeB).fill(NaN);
  const C = new Float64Array((batch - 1) * strideC + sizeC).fill(NaN);
  for (let z = 0; z < nA; z++)
    for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) A[z * strideA + (ta ? k * lda + i : i * lda + k)] = a[z][i * K + k];
  for (let z = 0; z < batch; z++) {
    for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) B[z * strideB + (tb ? j * ldb + k : k * ldb + j)] = b[z][k * N + j];
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) C[z * strideC + i * ldc + j] = c0[z][i * N + j];
  }
  const alpha = c.epilogue ? 0.75 : 1;
  const beta = c.epilogue ? -0.5 : 0;
  const { out, pre } = cg.tidy(() => {
    const r = gemm(dev(A), dev(B), dev(C), {
      transA: ta, transB: tb, m: M, n: N, k: K, alpha, beta, lda, ldb, ldc, batch, strideA, strideB, strideC,
      ...(c.epilogue ? { bias: dev(bias), activation: 'gelu' as const, preact: true } : {}),
    });
    return { out: r.out.toArray(), pre: r.preact?.toArray() };
  });
  const label = `${M}x${N}x${K} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}${batch > 1 ? ` batch ${batch}${c.broadcastA ? ' (A broadcast)' : ''}` : ''}${c.epilogue ? ' alpha/beta/bias/gelu' : ''}`;
  for (let z = 0; z < batch; z++) {
    const az = a[c.broadcastA ? 0 : z];
    const want = new Float64Array(M * N);
    const s = new Float64Array(M * N);
    const got = new Float64Array(M * N);
    const gotPre = new Float64Array(M * N);
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let acc = 0;
        let sa = 0;
        for (let k = 0; k < K; k++) {
          acc += az[i * K + k] * b[z][k * N + j];
          sa += Math.abs(az[i * K + k] * b[z][k * N + j]);
        }
        const cb = c.epilogue ? beta * c0[z][i * N + j] + bias[j] : 0;
        want[i * N + j] = alpha * acc + cb;
        s[i * N + j] = Math.abs(alpha) * sa + (c.epilogue ? Math.abs(beta * c0[z][i * N + j]) + Math.abs(bias[j]) : 0);
        got[i * N + j] = out[z * strideC + i * ldc + j];
        if (pre) gotPre[i * N + j] = pre[z * strideC + i * ldc + j];
      }
    if (c.epilogue) {
      assertWithinScale(t, gotPre, want, s, F(K), `${label} [${z}] preact`);
      assertWithinScale(t, got, Array.from(gotPre, gelu), gotPre.map((v) => 1.2 * Math.abs(v) + 1e-6), F(1), `${label} [${z}] gelu(preact)`);
    } else {
      assertWithinScale(t, got, want, s, F(K), `${label} [${z}]`);
    }
  }
  let untouched = true;
  for (let i = 0; i < out.length; i++) {
    const r = i % strideC;
    const inside = r < sizeC && r % ldc < N;
    if (!inside && !Number.isNaN(out[i])) untouched = false;
  }
  t.ok(untouched, `${label}: nothing written outside C (ldc padding, between batches)`);
}

t.test('wgmma GEMM (CUDAGRAD_GEMM_WGMMA=1, precision medium) vs float64', async (t) => {
  if (!cg.cuda.available()) {
    t.skip(`no CUDA device: ${cg.cuda.reason()}`, () => {});
    return;
  }
  const cuda = cg.devices().find((d) => d.type === 'cuda');
  const sm90 = cuda?.type === 'cuda' && cuda.computeCapability.startsWith('9.');
  if (!sm90) {
    t.skip(`the wgmma path needs an sm_90 device (this one: ${cuda?.type === 'cuda' ? cuda.computeCapability : 'none'})`, () => {});
    return;
  }
  if (!cg.cuda.wgmmaAvailable()) {
    t.skip('this addon has no sm_90a code (built with CUDAGRAD_CUDA_ARCHS without 90a): the wgmma GEMM cannot run', () => {});
    return;
  }
  const before = cg.getMatmulPrecision();
  t.teardown(() => cg.setMatmulPrecision(before));
  cg.setMatmulPrecision('medium');
  const cases: Case[] = [];
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]])
    cases.push({ M: 7, N: 33, K: 5, ta, tb }, { M: 129, N: 131, K: 70, ta, tb, epilogue: true });
  cases.push({ M: 33, N: 20, K: 129, ta: false, tb: true, batch: 3, broadcastA: true, epilogue: true });
  cases.push({ M: 1, N: 1, K: 1, ta: false, tb: false });
  const n0 = cg.cuda.gemmLaunches();
  for (const c of cases) runCase(t, c);
  const n1 = cg.cuda.gemmLaunches();
  t.equal(n1.wgmma - n0.wgmma, cases.length, 'every GEMM ran the wgmma kernel (on a GPU: needs sm_90a code, in the default archs or CUDAGRAD_CUDA_ARCHS=90a)');
  t.equal(n1.mma - n0.mma, 0, 'none ran the mma.sync kernel');
  t.equal(n1.simt - n0.simt, 0, 'none ran the SIMT kernel');

  cg.setMatmulPrecision('high'); // TF32 stays on mma.sync
  runCase(t, { M: 7, N: 9, K: 11, ta: false, tb: false });
  const n2 = cg.cuda.gemmLaunches();
  t.same([n2.wgmma - n1.wgmma, n2.mma - n1.mma], [0, 1], "'high' (TF32) uses the mma.sync kernel");
});

t.test('cuda.wgmmaAvailable(): an sm_90 device with sm_90a code (the emulator counts)', async (t) => {
  const cuda = cg.devices().find((d) => d.type === 'cuda');
  if (!cg.cuda.available() || cuda?.type !== 'cuda') {
    t.equal(cg.cuda.wgmmaAvailable(), false, `false without a CUDA device (${cg.cuda.reason()})`);
    return;
  }
  if (cuda.name.includes('SIMT emulator')) t.equal(cg.cuda.wgmmaAvailable(), true, 'true on the emulated sm_90');
  else if (!cuda.computeCapability.startsWith('9.')) t.equal(cg.cuda.wgmmaAvailable(), false, `false on compute capability ${cuda.computeCapability}`);
  else t.pass(`sm_90 GPU: wgmmaAvailable() is ${cg.cuda.wgmmaAvailable()} (true when this build includes 90a)`);
});
