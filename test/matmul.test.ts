// GEMM / matmul / linear, forward and backward: float64 oracle at every SIMD
// level on odd and tile-straddling sizes, all transposes, alpha/beta, leading
// dims, strided and broadcast batches, fused epilogue vs its unfused
// composition, finite differences, threads, bad input.
//
// Tolerance (float32 GEMM): each output is a K-term dot product; with unit
// roundoff u = 2^-24 the rounding error of a float32 sum of K products is
// bounded by K u S in the worst case and, for random-sign data, behaves like
// sqrt(K) u S (Higham & Mary, 2019), where S = sum_k |a_ik b_kj| (+ |beta c_ij|).
// We allow |got - want| <= (8 sqrt(K) + 8) u S: about 1e-5 * sqrt(K) relative to
// the magnitude S, loose enough for any summation order the blocking picks,
// tight enough to catch a single dropped or doubled term.
import t from 'tap';
import type { Test } from 'tap';

import * as cg from '../lib/index';
import { gemm, linearBackward, matmulBackward } from '../lib/ops/matmul';
import { assertClose, dot, f32, forEachSimd, numericGrad, ODD_SIZES, uniform } from './oracle';

const U = 2 ** -24;

let seed = 1;
const rnd = (n: number, lo = -1, hi = 1) => uniform(n, seed++, lo, hi);

// Stores a logical rows x cols matrix x row-major with leading dim ld, or its transpose (cols x rows).
function store(x: Float64Array, rows: number, cols: number, trans: boolean, ld: number, fill = 0): Float64Array {
  const r = trans ? cols : rows;
  const out = new Float64Array(r === 0 ? 0 : (r - 1) * ld + (trans ? rows : cols)).fill(fill);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[trans ? j * ld + i : i * ld + j] = x[i * cols + j];
  return out;
}

// (A B, S = |A| |B|) in float64 for A (M, K), B (K, N).
function refMm(a: Float64Array, b: Float64Array, M: number, N: number, K: number): { c: Float64Array; s: Float64Array } {
  const c = new Float64Array(M * N);
  const s = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let k = 0; k < K; k++) {
      const x = a[i * K + k];
      for (let j = 0; j < N; j++) {
        c[i * N + j] += x * b[k * N + j];
        s[i * N + j] += Math.abs(x * b[k * N + j]);
      }
    }
  return { c, s };
}

// |got - want| <= (8 sqrt(K) + 8) u s elementwise (see the header), listing the first mismatches.
function assertGemm(t: Test, got: ArrayLike<number>, want: ArrayLike<number>, s: ArrayLike<number>, K: number, label: string): void {
  const f = (8 * Math.sqrt(K) + 8) * U;
  const bad: string[] = [];
  let worst = 0;
  if (got.length !== want.length) {
    t.fail(`${label}: length ${got.length}, want ${want.length}`);
    return;
  }
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    const tol = f * s[i] + 1e-30;
    worst = Math.max(worst, d / tol);
    if (!(d <= tol) && bad.length < 5) bad.push(`[${i}] got ${got[i]} want ${want[i]} (tol ${tol.toExponential(2)})`);
  }
  t.ok(bad.length === 0, `${label} (max err ${worst.toFixed(3)} of tolerance)`, bad.length ? { mismatches: bad } : {});
}

interface Case {
  M: number;
  N: number;
  K: number;
  a: Float64Array;
  b: Float64Array;
  c0: Float64Array;
  ab: Float64Array;
  s: Float64Array;
}
function makeCase(M: number, N: number, K: number): Case {
  const a = rnd(M * K);
  const b = rnd(K * N);
  const { c, s } = refMm(a, b, M, N, K);
  return { M, N, K, a, b, c0: rnd(M * N), ab: c, s };
}

// Runs the raw gemm on case x with transposes/alpha/beta/leading-dim padding and checks it.
function checkGemm(t: Test, x: Case, ta: boolean, tb: boolean, alpha: number, beta: number, pad: number, label: string): void {
  const { M, N, K } = x;
  const lda = Math.max(1, (ta ? M : K) + pad);
  const ldb = Math.max(1, (tb ? K : N) + pad);
  const ldc = Math.max(1, N + pad);
  const A = store(x.a, M, K, ta, lda, NaN); // padding holds NaN: it must never be read
  const B = store(x.b, K, N, tb, ldb, NaN);
  const C = beta === 0 ? store(x.c0, M, N, false, ldc, NaN).fill(NaN) : store(x.c0, M, N, false, ldc, NaN);
  const out = cg.tidy(() => {
    const r = gemm(f32(A, [A.length]), f32(B, [B.length]), f32(C, [C.length]), { transA: ta, transB: tb, m: M, n: N, k: K, alpha, beta, lda, ldb, ldc });
    return r.out.toArray();
  });
  const got = new Float64Array(M * N);
  let padOk = true;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) got[i * N + j] = out[i * ldc + j];
    for (let j = N; j < ldc && i < M - 1; j++) padOk = padOk && Number.isNaN(out[i * ldc + j]);
  }
  const want = x.ab.map((v, i) => alpha * v + beta * x.c0[i]);
  const s = x.s.map((v, i) => Math.abs(alpha) * v + Math.abs(beta * x.c0[i]));
  assertGemm(t, got, want, s, K, label);
  if (pad > 0 && !padOk) t.fail(`${label}: wrote outside the ldc rows`);
}

const TRANS: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

t.test('gemm: odd sizes, all transposes, alpha/beta, at every SIMD level', async (t) => {
  const cases: Case[] = [];
  for (const M of ODD_SIZES) for (const N of ODD_SIZES) for (const K of ODD_SIZES) cases.push(makeCase(M, N, K));
  await forEachSimd(t, (t) => {
    cases.forEach((x, i) => {
      // beta = 0 with C all NaN: C must not be read; then scaled and accumulating updates.
      const [alpha, beta] = [
        [1, 0],
        [-1.5, 0.5],
        [0.25, 1],
      ][i % 3];
      for (const [ta, tb] of TRANS) checkGemm(t, x, ta, tb, alpha, beta, 0, `M=${x.M} N=${x.N} K=${x.K} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} alpha=${alpha} beta=${beta}`);
    });
  });
});

t.test('gemm: sizes straddling the tiles (MR, NR, KC, MC, NC), padded leading dims', async (t) => {
  // Tiles (native/cpu/gemm.inc): AVX-512 14x32, KC 1024, MC 112, NC 1024; AVX2 6x16, KC 512,
  // MC 144, NC 1024; scalar 4x4, KC 256, MC 128, NC 1024. K blocks are balanced (K = 1100: 2 x 552).
  // M or N = 1 takes the GEMV path.
  const shapes = [
    [13, 31, 255],
    [14, 32, 256],
    [15, 33, 513],
    [29, 65, 1025],
    [27, 47, 1100],
    [113, 49, 300],
    [145, 17, 40],
    [6, 2083, 20],
    [700, 17, 9],
    // GEMV (M or N = 1), chunked by 4096 along the outputs and along K.
    [1, 4500, 300],
    [1, 5, 4500],
    [4500, 1, 50],
    [3, 1, 4500],
  ];
  const cases = shapes.map(([M, N, K]) => makeCase(M, N, K));
  await forEachSimd(t, (t) => {
    cases.forEach((x, i) => {
      for (const [ta, tb] of TRANS) {
        const beta = i % 2 ? 0.5 : 0;
        checkGemm(t, x, ta, tb, 1, beta, i % 3 === 0 ? 0 : 3, `M=${x.M} N=${x.N} K=${x.K} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} beta=${beta}`);
      }
    });
  });
});

t.test('gemm: a packed op(B) too big to keep (K x N > 2^24 floats) gives the bits of a kept one, call after call', async (t) => {
  // gemm.cpp keeps the threads' shared packed op(B) between calls up to 2^24 floats; a bigger
  // one (here 8200 x 2112 padded columns) comes from the host allocator's cache instead. A
  // column's sum runs over the same K blocks in the same order whatever N is, so a column
  // range multiplied on its own (a small, kept pack) must give the same bits.
  const [M, K, N] = [29, 8200, 2100];
  const a = cg.randn([M, K], { seed: 11 });
  const b = cg.randn([K, N], { seed: 12 });
  const a64 = Float64Array.from(a.toArray());
  await forEachSimd(t, (t) => {
    const full = [cg.matmul(a, b), cg.matmul(a, b)]; // the second call reuses the cached block
    if (process.env.CUDAGRAD_CPU_CACHE_MB === undefined)
      t.ok(cg.memory().devices.cpu.cachedBytes >= K * N * 4, 'the packed op(B) went back to the host cache');
    for (const [lo, hi] of [
      [0, 64],
      [2036, 2100],
    ]) {
      const bp = cg.slice(b, 1, lo, hi);
      const part = cg.matmul(a, bp).toArray();
      full.forEach((f, i) => {
        const got = cg.slice(f, 1, lo, hi).toArray();
        t.ok(got.every((v, q) => Object.is(v, part[q])), `call ${i + 1}, columns ${lo}..${hi}: same bits as the kept pack`);
      });
      const r = refMm(a64, Float64Array.from(bp.toArray()), M, hi - lo, K);
      assertGemm(t, part, r.c, r.s, K, `columns ${lo}..${hi} vs float64`);
    }
    full.forEach((f) => f.dispose());
  });
});

t.test('gemm: strided batch, broadcast operands (stride 0), and 1 vs 2 threads', async (t) => {
  const [M, N, K, batch] = [9, 21, 35, 3];
  const a = rnd(batch * M * K);
  const b = rnd(K * N); // broadcast: stride 0
  const got = gemm(f32(a, [a.length]), f32(b, [b.length]), cg.full([batch * M * N], NaN), { m: M, n: N, k: K, batch, strideB: 0 }).out.toArray();
  for (let i = 0; i < batch; i++) {
    const r = refMm(a.subarray(i * M * K, (i + 1) * M * K), b, M, N, K);
    assertGemm(t, got.subarray(i * M * N, (i + 1) * M * N), r.c, r.s, K, `batch item ${i}`);
  }
  // Transposed, batched A with gaps between items (strideA > M*K), C with gaps kept intact.
  const sa = M * K + 5;
  const sc = M * N + 2;
  const a2 = rnd((batch - 1) * sa + M * K);
  const b2 = rnd(batch * K * N);
  const c2 = rnd((batch - 1) * sc + M * N);
  const out = gemm(f32(a2, [a2.length]), f32(b2, [b2.length]), f32(c2, [c2.length]), {
    transA: true, m: M, n: N, k: K, batch, strideA: sa, strideB: K * N, strideC: sc, beta: 1,
  }).out.toArray();
  for (let i = 0; i < batch; i++) {
    const at = a2.subarray(i * sa, i * sa + M * K); // stored (K, M)
    const av = Float64Array.from({ length: M * K }, (_, q) => at[(q % K) * M + Math.floor(q / K)]);
    const r = refMm(av, b2.subarray(i * K * N, (i + 1) * K * N), M, N, K);
    const want = r.c.map((v, q) => v + c2[i * sc + q]);
    assertGemm(t, out.subarray(i * sc, i * sc + M * N), want, r.s.map((v, q) => v + Math.abs(c2[i * sc + q])), K, `T batch ${i}`);
    if (i < batch - 1) t.same([out[i * sc + M * N], out[i * sc + M * N + 1]], [Math.fround(c2[i * sc + M * N]), Math.fround(c2[i * sc + M * N + 1])], 'gap kept');
  }
  // Work split over threads never changes a result bit (no split-K).
  const x = cg.randn([301, 150], { seed: 5 });
  const y = cg.randn([150, 701], { seed: 6 });
  const before = cg.getNumThreads();
  cg.setNumThreads(1);
  const one = cg.matmul(x, y).toArray();
  cg.setNumThreads(2);
  const two = cg.matmul(x, y).toArray();
  cg.setNumThreads(before);
  t.ok(one.every((v, i) => Object.is(v, two[i])), '1 and 2 threads agree bit for bit');
});

t.test('gemm epilogue: bias + activation equal the unfused composition, preact, K = 0, alpha = 0', async (t) => {
  await forEachSimd(t, (t) => {
    for (const [M, N, K] of [
      [7, 33, 257],
      [33, 70, 300],
      [1, 1, 1],
    ]) {
      const a = f32(rnd(M * K), [M * K]);
      const b = f32(rnd(K * N), [K * N]);
      const bias = rnd(N);
      const c = cg.full([M * N], NaN);
      const plain = gemm(a, b, c, { m: M, n: N, k: K, transB: false, alpha: 1.25 }).out.toArray();
      const pre = Float32Array.from(plain, (v, i) => v + bias[i % N]); // float32 add, as the epilogue
      for (const act of ['relu', 'gelu', 'gelu_exact', 'tanh', 'sigmoid'] as const) {
        const r = gemm(a, b, c, { m: M, n: N, k: K, alpha: 1.25, bias: f32(bias, [N]), activation: act, preact: true });
        const want = cg.activation(act, cg.tensor(pre)).toArray();
        t.same(Array.from(r.out.toArray()), Array.from(want), `${act} M=${M} N=${N} K=${K}: fused == unfused`);
        t.same(Array.from(r.preact!.toArray()), Array.from(pre), `${act}: preact == pre-activation`);
      }
      const nb = gemm(a, b, c, { m: M, n: N, k: K, alpha: 1.25, activation: 'relu' }).out.toArray();
      t.same(Array.from(nb), Array.from(plain, (v) => Math.max(0, v)), 'activation without bias');
    }
    // K = 0 and alpha = 0: C = beta C + bias, A and B not read (they hold NaN).
    const nan = cg.full([12], NaN);
    const c0 = cg.tensor([1, -2, 3, -4, 5, -6]);
    const bias = cg.tensor([10, 20, 30]);
    for (const [k, alpha] of [
      [0, 1],
      [2, 0],
    ]) {
      const r = gemm(nan, nan, c0, { m: 2, n: 3, k, alpha, beta: 2, bias, activation: 'relu' }).out.toArray();
      t.same(Array.from(r), [12, 16, 36, 2, 30, 18], `k=${k} alpha=${alpha}: relu(2 C + bias)`);
      const z = gemm(nan, nan, cg.full([6], NaN), { m: 2, n: 3, k, alpha, beta: 0 }).out.toArray();
      t.same(Array.from(z), [0, 0, 0, 0, 0, 0], `k=${k} alpha=${alpha} beta=0: zeros, C not read`);
    }
  });
});

// --- matmul with torch semantics: float64 reference with broadcasting.

function strides(shape: number[]): number[] {
  const s = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

// Calls visit(ia, ib, io) for every batch item of the broadcast product, with element offsets
// into a, b and out; returns the promoted sizes and output shape (as torch.matmul).
function bmm(as: number[], bs: number[], visit: (oa: number, ob: number, oo: number) => void) {
  const a1 = as.length === 1;
  const b1 = bs.length === 1;
  const M = a1 ? 1 : as[as.length - 2];
  const K = as[as.length - 1];
  const N = b1 ? 1 : bs[bs.length - 1];
  const ab = a1 ? [] : as.slice(0, -2);
  const bb = b1 ? [] : bs.slice(0, -2);
  const nb = Math.max(ab.length, bb.length);
  const pa = [...Array(nb - ab.length).fill(1), ...ab];
  const pb = [...Array(nb - bb.length).fill(1), ...bb];
  const batch = pa.map((v, i) => (v === 1 ? pb[i] : v));
  const sa = strides(pa);
  const sb = strides(pb);
  const count = batch.reduce((x, y) => x * y, 1);
  for (let q = 0; q < count; q++) {
    let r = q;
    let oa = 0;
    let ob = 0;
    for (let d = nb - 1; d >= 0; d--) {
      const i = r % batch[d];
      r = Math.floor(r / batch[d]);
      if (pa[d] > 1) oa += i * sa[d];
      if (pb[d] > 1) ob += i * sb[d];
    }
    visit(oa * M * K, ob * K * N, q * M * N);
  }
  const out = [...batch, ...(a1 ? [] : [M]), ...(b1 ? [] : [N])];
  return { M, N, K, out, count };
}

function refMatmul(a: Float64Array, as: number[], b: Float64Array, bs: number[]) {
  const probe = bmm(as, bs, () => {});
  const { M, N, K } = probe;
  const out = new Float64Array(probe.count * M * N);
  const s = new Float64Array(out.length);
  bmm(as, bs, (oa, ob, oo) => {
    for (let i = 0; i < M; i++)
      for (let k = 0; k < K; k++)
        for (let j = 0; j < N; j++) {
          const p = a[oa + i * K + k] * b[ob + k * N + j];
          out[oo + i * N + j] += p;
          s[oo + i * N + j] += Math.abs(p);
        }
  });
  return { out, s, shape: probe.out, K };
}

function refMatmulBackward(d: Float64Array, a: Float64Array, as: number[], b: Float64Array, bs: number[]) {
  const da = new Float64Array(a.length);
  const db = new Float64Array(b.length);
  const sa = new Float64Array(a.length);
  const sb = new Float64Array(b.length);
  const { M, N, K } = bmm(as, bs, () => {});
  bmm(as, bs, (oa, ob, oo) => {
    for (let i = 0; i < M; i++)
      for (let k = 0; k < K; k++)
        for (let j = 0; j < N; j++) {
          const g = d[oo + i * N + j];
          da[oa + i * K + k] += g * b[ob + k * N + j];
          sa[oa + i * K + k] += Math.abs(g * b[ob + k * N + j]);
          db[ob + k * N + j] += g * a[oa + i * K + k];
          sb[ob + k * N + j] += Math.abs(g * a[oa + i * K + k]);
        }
  });
  return { da, db, sa, sb };
}

const numel = (s: number[]) => s.reduce((x, y) => x * y, 1);

const MATMUL_SHAPES: [number[], number[], number[]][] = [
  [[33], [33], []],
  [[7], [7, 33], [33]],
  [[33, 7], [7], [33]],
  [[5], [3, 5, 4], [3, 4]],
  [[3, 5, 4], [4], [3, 5]],
  [[7, 33], [33, 257], [7, 257]],
  [[257, 7], [7, 1], [257, 1]],
  [[2, 7, 33], [2, 33, 5], [2, 7, 5]],
  [[2, 1, 3, 4], [5, 4, 6], [2, 5, 3, 6]],
  [[4, 7, 9], [9, 11], [4, 7, 11]], // b broadcast: folds into one GEMM
  [[7, 9], [4, 9, 11], [4, 7, 11]], // a broadcast: da sums over the batch
  [[3, 1, 6, 5], [1, 4, 5, 2], [3, 4, 6, 2]],
  [[1, 6, 5], [3, 5, 2], [3, 6, 2]],
  [[0, 3], [3, 4], [0, 4]],
  [[2, 0], [0, 4], [2, 4]],
  [[2, 0, 3, 4], [4, 5], [2, 0, 3, 5]],
];

t.test('matmul: torch.matmul shapes and values, forward and backward, at every SIMD level', async (t) => {
  const data = MATMUL_SHAPES.map(([as, bs]) => {
    const a = rnd(numel(as));
    const b = rnd(numel(bs));
    const fwd = refMatmul(a, as, b, bs);
    const d = rnd(fwd.out.length);
    return { as, bs, a, b, d, fwd, bwd: refMatmulBackward(d, a, as, b, bs) };
  });
  await forEachSimd(t, (t) => {
    cg.tidy(() => {
      for (const [i, x] of data.entries()) {
        const label = `[${x.as}] @ [${x.bs}]`;
        const A = f32(x.a, x.as);
        const B = f32(x.b, x.bs);
        const out = i % 2 ? A.matmul(B) : cg.matmul(A, B);
        t.same(out.shape, MATMUL_SHAPES[i][2], `${label} shape`);
        assertGemm(t, out.toArray(), x.fwd.out, x.fwd.s, x.fwd.K, `${label} forward`);
        const g = matmulBackward(f32(x.d, MATMUL_SHAPES[i][2]), A, B);
        t.same([g.da.shape, g.db.shape], [x.as, x.bs], `${label} grad shapes`);
        // Terms per gradient element: the inner size times the batch items summed into it (at most all).
        const { N, M, count } = bmm(x.as, x.bs, () => {});
        assertGemm(t, g.da.toArray(), x.bwd.da, x.bwd.sa, N * Math.max(1, count), `${label} da`);
        assertGemm(t, g.db.toArray(), x.bwd.db, x.bwd.sb, M * Math.max(1, count), `${label} db`);
      }
    });
  });
});

t.test('matmul backward agrees with central finite differences', async (t) => {
  for (const [as, bs, os] of [
    [[3], [3], []],
    [[2, 3], [3], [2]],
    [[2, 1, 2, 3], [2, 3, 2], [2, 2, 2, 2]],
    [[3, 2], [2, 2, 4], [2, 3, 4]],
  ]) {
    const a = rnd(numel(as));
    const b = rnd(numel(bs));
    const w = rnd(numel(os));
    const g = matmulBackward(f32(w, os), f32(a, as), f32(b, bs));
    const la = (x: Float64Array) => dot(cg.matmul(f32(x, as), f32(b, bs)).toArray(), w);
    const lb = (x: Float64Array) => dot(cg.matmul(f32(a, as), f32(x, bs)).toArray(), w);
    assertClose(t, g.da.toArray(), numericGrad(la, a, 1e-2), 2e-3, 2e-2, `[${as}] @ [${bs}] da vs numeric`);
    assertClose(t, g.db.toArray(), numericGrad(lb, b, 1e-2), 2e-3, 2e-2, `[${as}] @ [${bs}] db vs numeric`);
  }
});

// --- linear: y = act(x W^T + b)

t.test('linear forward/backward vs the float64 reference, fused vs unfused, at every SIMD level', async (t) => {
  const shapes: [number[], number, number][] = [
    [[7], 33, 257],
    [[2, 7, 33], 257, 7],
    [[257, 1], 1, 33],
    [[3, 0, 5], 4, 5],
    [[4, 6], 9, 0],
  ];
  const data = shapes.map(([lead, nin, nout]) => {
    const M = numel(lead);
    const x = rnd(M * nin);
    const w = rnd(nout * nin);
    const bias = rnd(nout);
    const d = rnd(M * nout);
    const wt = Float64Array.from({ length: nin * nout }, (_, q) => w[(q % nout) * nin + Math.floor(q / nout)]); // (in, out)
    const fwd = refMm(x, wt, M, nout, nin);
    const dx = refMm(d, w, M, nin, nout);
    const dtT = Float64Array.from({ length: nout * M }, (_, q) => d[(q % M) * nout + Math.floor(q / M)]); // (out, M)
    const dw = refMm(dtT, x, nout, nin, M);
    const db = Float64Array.from({ length: nout }, (_, j) => {
      let s = 0;
      for (let i = 0; i < M; i++) s += d[i * nout + j];
      return s;
    });
    return { lead, nin, nout, M, x, w, bias, d, fwd, dx, dw, db };
  });
  await forEachSimd(t, (t) => {
    cg.tidy(() => {
      for (const q of data) {
        const label = `x [${q.lead},${q.nin}] W [${q.nout},${q.nin}]`;
        const X = f32(q.x, [...q.lead, q.nin]);
        const W = f32(q.w, [q.nout, q.nin]);
        const B = f32(q.bias, [q.nout]);
        const y = cg.linear(X, W, B);
        t.same(y.shape, [...q.lead, q.nout], `${label} shape`);
        const want = q.fwd.c.map((v, i) => v + q.bias[i % q.nout]);
        assertGemm(t, y.toArray(), want, q.fwd.s.map((v, i) => v + Math.abs(q.bias[i % q.nout])), q.nin, `${label} forward`);
        assertGemm(t, cg.linear(X, W).toArray(), q.fwd.c, q.fwd.s, q.nin, `${label} forward without bias`);
        for (const act of ['relu', 'gelu', 'gelu_exact'] as const) {
          t.same(Array.from(cg.linear(X, W, B, { activation: act }).toArray()), Array.from(cg.activation(act, y).toArray()), `${label} ${act} fused == unfused`);
        }
        const g = linearBackward(f32(q.d, [...q.lead, q.nout]), X, W, true);
        t.same([g.dx.shape, g.dweight.shape, g.dbias!.shape], [[...q.lead, q.nin], [q.nout, q.nin], [q.nout]], `${label} grad shapes`);
        assertGemm(t, g.dx.toArray(), q.dx.c, q.dx.s, q.nout, `${label} dx`);
        assertGemm(t, g.dweight.toArray(), q.dw.c, q.dw.s, q.M, `${label} dweight`);
        assertClose(t, g.dbias!.toArray(), q.db, 1e-5 * Math.sqrt(q.M), 1e-5, `${label} dbias`);
        t.equal(linearBackward(f32(q.d, [...q.lead, q.nout]), X, W).dbias, undefined, 'no dbias without a bias');
      }
    });
  });
});

t.test('linear backward agrees with central finite differences', async (t) => {
  const [M, nin, nout] = [3, 4, 2];
  const x = rnd(M * nin);
  const w = rnd(nout * nin);
  const b = rnd(nout);
  const wd = rnd(M * nout);
  const f = (xv: Float64Array, wv: Float64Array, bv: Float64Array) =>
    dot(cg.linear(f32(xv, [M, nin]), f32(wv, [nout, nin]), f32(bv, [nout])).toArray(), wd);
  const g = linearBackward(f32(wd, [M, nout]), f32(x, [M, nin]), f32(w, [nout, nin]), true);
  assertClose(t, g.dx.toArray(), numericGrad((v) => f(v, w, b), x), 2e-3, 2e-2, 'dx vs numeric');
  assertClose(t, g.dweight.toArray(), numericGrad((v) => f(x, v, b), w), 2e-3, 2e-2, 'dweight vs numeric');
  assertClose(t, g.dbias!.toArray(), numericGrad((v) => f(x, w, v), b), 2e-3, 2e-2, 'dbias vs numeric');
});

t.test('bad input', async (t) => {
  const i32 = cg.tensor([1, 2], { dtype: 'int32' });
  t.throws(() => cg.matmul(i32, cg.zeros([2])), { name: 'TypeError', message: 'cudagrad.matmul: a must be float32, got int32 tensor of shape [2]' });
  t.throws(() => cg.matmul(cg.zeros([2, 3]), cg.zeros([4, 5])), {
    name: 'RangeError',
    message: 'cudagrad.matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 != 4)',
  });
  t.throws(() => cg.matmul(cg.zeros([2, 3, 4]), cg.zeros([5, 4, 6])), {
    name: 'RangeError',
    message: 'cudagrad.matmul: batch dimensions of [2, 3, 4] and [5, 4, 6] cannot be broadcast ([2] vs [5])',
  });
  t.throws(() => cg.matmul(cg.tensor(3), cg.zeros([3])), {
    name: 'RangeError',
    message: 'cudagrad.matmul: both operands must have at least 1 dimension, got shapes [] and [3]',
  });
  t.throws(() => cg.matmul(cg.zeros([3]), [1, 2, 3] as unknown as cg.Tensor), { name: 'TypeError', message: 'cudagrad.matmul: b must be a Tensor, got an array' });
  t.throws(() => matmulBackward(cg.zeros([2, 2]), cg.zeros([2, 3]), cg.zeros([3, 4])), {
    name: 'RangeError',
    message: 'cudagrad.matmul backward: dout has shape [2, 2] but [2, 3] @ [3, 4] has shape [2, 4]',
  });
  t.throws(() => cg.linear(cg.zeros([2, 3]), cg.zeros([4, 5])), {
    name: 'RangeError',
    message: 'cudagrad.linear: x has shape [2, 3] but weight has shape [4, 5] (in features 3 != 5)',
  });
  t.throws(() => cg.linear(cg.zeros([2, 3]), cg.zeros([3])), { name: 'RangeError', message: 'cudagrad.linear: weight must be 2-D (out, in), got shape [3]' });
  t.throws(() => cg.linear(cg.zeros([2, 3]), cg.zeros([4, 3]), cg.zeros([3])), {
    name: 'RangeError',
    message: 'cudagrad.linear: bias has shape [3] but weight has shape [4, 3] (expected [4])',
  });
  t.throws(() => cg.linear(cg.zeros([2, 3]), cg.zeros([4, 3]), null, { activation: 'swish' as 'relu' }), {
    name: 'TypeError',
    message: "cudagrad.linear: unknown activation 'swish' (expected relu, gelu, gelu_exact, tanh or sigmoid)",
  });
  t.throws(() => cg.linear(cg.zeros([2, 3]), cg.zeros([4, 3]), null, { act: 'relu' } as never), {
    name: 'TypeError',
    message: "cudagrad.linear: unknown option 'act' (expected one of activation)",
  });
  t.throws(() => linearBackward(cg.zeros([2, 5]), cg.zeros([2, 3]), cg.zeros([4, 3])), {
    name: 'RangeError',
    message: 'cudagrad.linear backward: dout has shape [2, 5] but the output has shape [2, 4]',
  });
  t.throws(() => gemm(cg.zeros([5]), cg.zeros([6]), cg.zeros([6]), { m: 2, n: 3, k: 3 }), {
    name: 'RangeError',
    message: 'cudagrad.gemm: a has 5 elements but the GEMM reads 6',
  });
  t.throws(() => gemm(cg.zeros([6]), cg.zeros([6]), cg.zeros([6]), { m: 2, n: 3, k: 2, lda: 1 }), { name: 'RangeError', message: 'cudagrad.gemm: lda 1 is less than 2' });
  t.throws(() => gemm(cg.zeros([6]), cg.zeros([6]), cg.zeros([12]), { m: 2, n: 3, k: 1, batch: 2, strideC: 3 }), {
    name: 'RangeError',
    message: 'cudagrad.gemm: stride_c 3 makes the 2 outputs overlap',
  });
});
