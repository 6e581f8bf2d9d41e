// Embedding forward (exact row copies) and backward (scatter-add) against a
// float64 reference at every SIMD level and on every device (CUDA: float4 and
// scalar rows, the deterministic row-ownership backward and the atomic one);
// the CPU backward is deterministic (same bits for 1 and 2 threads, in both of
// its work splits), the CUDA one for small vocabularies; finite differences;
// shapes; bad input (CUDA indices: checked on the device, raised at the next
// sync).
import t from 'tap';

import * as cg from '../lib/index';
import { embeddingBackward } from '../lib/ops/embedding';
import { assertClose, dot, f32, forEachSimd, numericGrad, ODD_SIZES, testDevices, uniform } from './oracle';

function indices(n: number, V: number, seed: number): Int32Array {
  return Int32Array.from(uniform(n, seed, 0, 1), (u) => Math.min(V - 1, Math.floor(u * u * V))); // skewed to low rows
}

function refBackward(d: ArrayLike<number>, idx: ArrayLike<number>, V: number, C: number): Float64Array {
  const out = new Float64Array(V * C);
  for (let n = 0; n < idx.length; n++) for (let c = 0; c < C; c++) out[idx[n] * C + c] += d[n * C + c];
  return out;
}

const i32 = (v: ArrayLike<number>, shape = [v.length], device?: cg.Device) => cg.tensor(Int32Array.from(v), { shape, device });

t.test('forward and backward match the float64 reference at every SIMD level', (t) =>
  forEachSimd(t, (t) => {
    let seed = 1;
    for (const C of ODD_SIZES) {
      for (const [N, V] of [[1, 1], [7, 5], [33, 50], [300, 7]]) {
        const wv = uniform(V * C, seed++, -1, 1);
        const iv = indices(N, V, seed++);
        const dv = uniform(N * C, seed++, -1, 1);
        const out = cg.embedding(i32(iv), f32(wv, [V, C]));
        const want = new Float64Array(N * C);
        for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) want[n * C + c] = wv[iv[n] * C + c];
        assertClose(t, out.toArray(), want, 0, 0, `forward N=${N} V=${V} C=${C}`);
        const dw = embeddingBackward(f32(dv, [N, C]), i32(iv), V);
        assertClose(t, dw.toArray(), refBackward(dv, iv, V, C), 1e-5, 1e-5, `backward N=${N} V=${V} C=${C}`);
      }
    }
  }),
);

t.test('backward is deterministic: same bits for any thread count, in both work splits', async (t) => {
  const saved = cg.getNumThreads();
  try {
    // C = 7 over many rows: dweight rows split between threads; C = 257: column blocks.
    for (const [N, V, C] of [[4096, 33, 7], [200, 9, 257], [5000, 3, 1]]) {
      const iv = indices(N, V, N);
      const dv = uniform(N * C, C, -1, 1);
      const runs = [1, 2, 3].map((k) => {
        cg.setNumThreads(k);
        return Array.from(embeddingBackward(f32(dv, [N, C]), i32(iv), V).toArray());
      });
      t.same(runs[1], runs[0], `N=${N} V=${V} C=${C}: 2 threads = 1 thread`);
      t.same(runs[2], runs[0], `N=${N} V=${V} C=${C}: 3 threads = 1 thread`);
      assertClose(t, runs[0], refBackward(dv, iv, V, C), 1e-4, 1e-5, `N=${N} V=${V} C=${C} vs float64`);
    }
  } finally {
    cg.setNumThreads(saved);
  }
});

// CUDA: C % 4 == 0 rows move as float4; V <= 4096 (and V * N <= 2^24) takes the row-ownership
// backward (token order: deterministic), larger V the atomic one (tolerance for any order).
t.test('every device matches the float64 reference (CUDA when present)', async (t) => {
  for (const device of testDevices()) {
    let seed = 900;
    for (const C of [1, 7, 8, 33, 256, 257]) {
      for (const [N, V] of [[1, 1], [7, 5], [33, 50], [300, 7], [64, 5000]]) {
        const wv = uniform(V * C, seed++, -1, 1);
        const iv = indices(N, V, seed++);
        const dv = uniform(N * C, seed++, -1, 1);
        const label = `${device} N=${N} V=${V} C=${C}`;
        const out = cg.embedding(i32(iv, [N], device), f32(wv, [V, C], device));
        const want = new Float64Array(N * C);
        for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) want[n * C + c] = wv[iv[n] * C + c];
        assertClose(t, out.toArray(), want, 0, 0, `forward ${label}`);
        const dw = embeddingBackward(f32(dv, [N, C], device), i32(iv, [N], device), V);
        assertClose(t, dw.toArray(), refBackward(dv, iv, V, C), 1e-5, 1e-5, `backward ${label}`);
      }
    }
  }
});

t.test('CUDA backward for small vocabularies is deterministic (row ownership, token order)', { skip: cg.cuda.available() ? false : `no CUDA device: ${cg.cuda.reason()}` }, async (t) => {
  const [N, V, C] = [2000, 9, 33];
  const iv = indices(N, V, 5);
  const dv = uniform(N * C, 6, -1, 1);
  const run = () => Array.from(embeddingBackward(f32(dv, [N, C], 'cuda'), i32(iv, [N], 'cuda'), V).toArray());
  const a = run();
  t.same(run(), a, 'same bits on a second run');
  assertClose(t, a, refBackward(dv, iv, V, C), 1e-4, 1e-5, 'vs float64');
});

t.test('setDeterministic(true): the CUDA backward at a large vocabulary sums in token order, giving the CPU bits', async (t) => {
  t.equal(cg.getDeterministic(), false, 'off by default');
  t.throws(() => cg.setDeterministic(1 as never), { name: 'TypeError', message: 'cudagrad.setDeterministic: expected a boolean, got number 1' });
  cg.setDeterministic(true);
  t.teardown(() => cg.setDeterministic(false));
  t.equal(cg.getDeterministic(), true);
  // V above the row-ownership limit of the default mode (4096); 40 distinct rows, 75 tokens each.
  const [N, V, C] = [3000, 5000, 33];
  const iv = indices(N, 40, 7).map((i) => i * 113);
  const dv = uniform(N * C, 8, -1, 1);
  const cpu = Array.from(embeddingBackward(f32(dv, [N, C]), i32(iv), V).toArray());
  assertClose(t, cpu, refBackward(dv, iv, V, C), 1e-4, 1e-5, 'cpu vs float64');
  if (!cg.cuda.available()) {
    t.comment(`no CUDA device to compare (${cg.cuda.reason()}); the CPU is deterministic in both modes`);
    return;
  }
  const cuda = Array.from(embeddingBackward(f32(dv, [N, C], 'cuda'), i32(iv, [N], 'cuda'), V).toArray());
  t.same(cuda, cpu, 'cuda: the same bits as the CPU');
});

t.test('CUDA indices are checked on the device: RangeError at the next sync', async (t) => {
  if (!cg.cuda.available()) return;
  const w = cg.zeros([10, 4], { device: 'cuda' });
  const msg = (v: number, pos: number, V = 10) => `cudagrad.embedding: index ${v} is out of range [0, ${V}) at position ${pos} (detected on the GPU)`;
  const out = cg.embedding(i32([0, 3, 12], [3], 'cuda'), w); // no host read of the indices: no error yet
  t.throws(() => out.toArray(), { name: 'RangeError', message: msg(12, 2) }, 'forward');
  t.throws(() => cg.embedding(i32([-1], [1], 'cuda'), w).toArray(), { name: 'RangeError', message: msg(-1, 0) });
  t.throws(() => embeddingBackward(cg.zeros([2, 4], { device: 'cuda' }), i32([0, 5], [2], 'cuda'), 5).toArray(), { name: 'RangeError', message: msg(5, 1, 5) }, 'backward, row ownership');
  t.throws(() => embeddingBackward(cg.zeros([2, 4], { device: 'cuda' }), i32([9000, 0], [2], 'cuda'), 5000).toArray(), { name: 'RangeError', message: msg(9000, 0, 5000) }, 'backward, atomics');
  // C = 0: an empty output (its toArray copies nothing, no sync); the error comes at the next synchronize.
  t.same(cg.embedding(i32([7], [1], 'cuda'), cg.zeros([3, 0], { device: 'cuda' })).shape, [1, 0]);
  t.throws(() => cg.cuda.synchronize(), { name: 'RangeError', message: msg(7, 0, 3) }, 'C = 0');
  t.same(Array.from(cg.embedding(i32([1], [1], 'cuda'), cg.ones([2, 2], { device: 'cuda' })).toArray()), [1, 1], 'works again after the error');
});

t.test('backward agrees with central finite differences', async (t) => {
  const V = 4;
  const C = 3;
  const iv = [3, 0, 3, 1, 3];
  const wv = uniform(V * C, 5);
  const d = uniform(iv.length * C, 6);
  const loss = (w: Float64Array) => dot(cg.embedding(i32(iv), f32(w, [V, C])).toArray(), d);
  assertClose(t, embeddingBackward(f32(d, [iv.length, C]), i32(iv), V).toArray(), numericGrad(loss, wv, 1e-2), 1e-3, 1e-3, 'analytic vs numeric');
});

t.test('shapes', async (t) => {
  const w = cg.randn([5, 3], { seed: 1 });
  t.same(cg.embedding(i32([1, 2, 3, 4, 0, 1], [2, 3]), w).shape, [2, 3, 3]);
  t.same(cg.embedding(cg.tensor(4, { dtype: 'int32' }), w).shape, [3]);
  t.same(Array.from(cg.embedding(cg.tensor(4, { dtype: 'int32' }), w).toArray()), Array.from(w.toArray()).slice(12));
  t.same(cg.embedding(i32([]), w).shape, [0, 3]);
  t.same(cg.embedding(i32([0, 0]), cg.zeros([1, 0])).shape, [2, 0]);
  t.same(Array.from(embeddingBackward(cg.zeros([0, 3]), i32([]), 5).toArray()), new Array(15).fill(0));
  t.same(embeddingBackward(cg.ones([2, 2, 3]), i32([1, 1, 1, 1], [2, 2]), 2).toArray()[3], 4);
  t.same(embeddingBackward(cg.zeros([0, 3]), i32([]), 0).shape, [0, 3]);
});

t.test('bad input', async (t) => {
  const w = cg.zeros([10, 4]);
  t.throws(() => cg.embedding(i32([0, 3, 12]), w), { name: 'RangeError', message: 'cudagrad.embedding: index 12 at position 2 is out of range for 10 embeddings (weight shape [10, 4])' });
  t.throws(() => cg.embedding(i32([-1]), w), { name: 'RangeError', message: 'cudagrad.embedding: index -1 at position 0 is out of range for 10 embeddings (weight shape [10, 4])' });
  t.throws(() => cg.embedding(cg.zeros([2]), w), { name: 'TypeError', message: 'cudagrad.embedding: indices must be int32, got float32 tensor of shape [2]' });
  t.throws(() => cg.embedding(i32([0]), cg.zeros([10])), { name: 'RangeError', message: 'cudagrad.embedding: weight must be 2-D (V, C), got shape [10]' });
  t.throws(() => cg.embedding(i32([0]), cg.zeros([2, 2], { dtype: 'int32' })), { name: 'TypeError', message: 'cudagrad.embedding: weight must be float32, got int32 tensor of shape [2, 2]' });
  t.throws(() => embeddingBackward(cg.zeros([3, 4]), i32([0, 1]), 10), { name: 'RangeError', message: 'cudagrad.embedding backward: dout must have shape [2] + [C] for indices of shape [2], got [3, 4]' });
  t.throws(() => embeddingBackward(cg.zeros([2, 4]), i32([0, 5]), 5), { name: 'RangeError', message: 'cudagrad.embedding backward: index 5 at position 1 is out of range for 5 embeddings (V = 5)' });
  t.throws(() => embeddingBackward(cg.zeros([2, 4]), i32([0, 1]), -1), { name: 'RangeError', message: 'cudagrad.embedding backward: V (the number of embeddings) must be a non-negative integer, got -1' });
  t.throws(() => embeddingBackward(cg.zeros([2, 4]), i32([0, 1]), 2.5), { name: 'TypeError', message: 'cudagrad.embedding backward: V must be an integer, got number 2.5' });
  t.throws(() => cg.embedding(w, i32([0])), { name: 'TypeError', message: 'cudagrad.embedding: weight must be float32, got int32 tensor of shape [1]' });
});
