// Philox RNG: known values, reproducibility across runs and thread counts,
// generator state, and distribution sanity.
import t from 'tap';

import * as cg from '../lib/index';
import { firstMismatch, oracleNormal, oracleUniform, runNode } from './helpers';

t.test('rand(seed 0) starts with the Random123 known-answer words', async (t) => {
  // philox4x32-10(counter 0, key 0) = 6627e8d5 e169c58d bc57ac4c 9b00dbd8 (Random123
  // kat_vectors); uniform = top 24 bits / 2^24.
  const want = [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8].map((w) => (w >>> 8) / 2 ** 24);
  t.same(Array.from(cg.rand([4], { seed: 0 }).toArray()), want);
});

t.test('rand and randn equal an independent Philox implementation', async (t) => {
  for (const [seed, n] of [[1234n, 257], [2n ** 63n + 5n, 33], [0n, 7]] as [bigint, number][]) {
    const u = cg.rand([n], { seed }).toArray();
    t.equal(firstMismatch(u, oracleUniform(seed, 0n, n), 0, 0), -1, `uniform seed ${seed} exact`);
    const u2 = cg.rand([n], { seed, low: -3, high: 5 }).toArray();
    t.equal(firstMismatch(u2, oracleUniform(seed, 0n, n, -3, 5), 0, 1e-7), -1, `uniform [-3, 5) seed ${seed}`);
    // Box-Muller in float64, rounded to float32: within float32 rounding of the oracle.
    const z = cg.randn([n], { seed, mean: 1, std: 2 }).toArray();
    t.equal(firstMismatch(z, oracleNormal(seed, 0n, n, 1, 2), 1e-6, 1e-6), -1, `normal seed ${seed}`);
  }
});

t.test('the same seed gives the same numbers across runs and thread counts', async (t) => {
  const code = `process.stdout.write(JSON.stringify([
    Array.from(cg.rand([100003], { seed: 7 }).toArray().slice(-5)),
    Array.from(cg.randn([5000], { seed: 7 }).toArray().slice(0, 5)),
    (cg.manualSeed(99), Array.from(cg.randn([3]).toArray())),
  ]))`;
  const runs = [runNode(code, { CUDAGRAD_NUM_THREADS: '1' }), runNode(code, { CUDAGRAD_NUM_THREADS: '2' }), runNode(code, { CUDAGRAD_NUM_THREADS: '5' })];
  for (const r of runs) t.equal(r.status, 0, r.stderr);
  t.equal(runs[1].stdout, runs[0].stdout);
  t.equal(runs[2].stdout, runs[0].stdout);
  const [tail] = JSON.parse(runs[0].stdout) as number[][];
  t.same(tail, oracleUniform(7n, 0n, 100003).slice(-5));
});

t.test('default generator: calls advance, manualSeed restarts, state round-trips', async (t) => {
  cg.manualSeed(5);
  t.same(cg.getRngState(), { seed: 5n, offset: 0n });
  const a = cg.rand([6]).toArray();
  const b = cg.rand([6]).toArray();
  t.not(Array.from(a).join(), Array.from(b).join(), 'successive calls differ');
  t.same(Array.from(a), oracleUniform(5n, 0n, 6), 'first call uses offset 0');
  t.same(Array.from(b), oracleUniform(5n, 1n, 6), 'second call uses offset 1');
  t.same(Array.from(cg.rand([6], { seed: 5 }).toArray()), Array.from(a), 'seeded call = first call after manualSeed');

  const saved = cg.getRngState();
  const c = cg.randn([9]).toArray();
  cg.setRngState(saved);
  t.same(Array.from(cg.randn([9]).toArray()), Array.from(c), 'restored state repeats');
  const seededDoesNotAdvance = cg.getRngState();
  cg.rand([3], { seed: 1 });
  t.same(cg.getRngState(), seededDoesNotAdvance, 'a seeded call leaves the default generator alone');
});

t.test('distributions: range and moments', async (t) => {
  const n = 1 << 20;
  const u = cg.rand([n], { seed: 11 }).toArray();
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of u) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  t.ok(min >= 0 && max < 1, `uniform in [0, 1): min ${min}, max ${max}`);
  // Mean of n uniforms has sd 0.289 / sqrt(n) = 2.8e-4; allow 5 sd.
  t.ok(Math.abs(sum / n - 0.5) < 1.5e-3, `uniform mean ${sum / n}`);

  const z = cg.randn([n], { seed: 12 }).toArray();
  let m = 0;
  for (const v of z) m += v;
  m /= n;
  let v2 = 0;
  for (const v of z) v2 += (v - m) ** 2;
  v2 /= n;
  t.ok(Math.abs(m) < 5e-3, `normal mean ${m}`);
  t.ok(Math.abs(v2 - 1) < 1e-2, `normal variance ${v2}`);
});

t.test('CUDA and CPU give the same random numbers (needs a GPU)', async (t) => {
  if (!cg.cuda.available()) {
    t.skip(`no CUDA device: ${cg.cuda.reason()}`, () => {});
    return;
  }
  const n = 100003;
  const ug = cg.rand([n], { seed: 3, device: 'cuda' }).toArray();
  const uc = cg.rand([n], { seed: 3, device: 'cpu' }).toArray();
  t.equal(firstMismatch(ug, uc, 0, 0), -1, 'uniform bitwise equal');
  const zg = cg.randn([n], { seed: 3, device: 'cuda' }).toArray();
  const zc = cg.randn([n], { seed: 3, device: 'cpu' }).toArray();
  t.equal(firstMismatch(zg, zc, 0, 2.4e-7), -1, 'normal equal within 2 float32 ulp');
});
