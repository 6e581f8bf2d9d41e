// Dropout: the mask equals the Philox uniform stream's u_i >= p at every SIMD
// level and on every device (independent Philox oracle in test/helpers.ts; the
// CUDA mask is the CPU's bit for bit), reproducible for a seed, keep rate
// within statistical bounds, backward regenerates the same mask, generator
// state handling, finite differences, bad input.
import t from 'tap';

import * as cg from '../lib/index';
import { dropoutBackward, dropoutForward } from '../lib/ops/dropout';
import { oracleUniform } from './helpers';
import { assertClose, dot, f32, forEachSimd, numericGrad, ODD_SIZES, testDevices, uniform } from './oracle';

// out_i = u_i >= float32(p) ? x_i * float32(1 / (1 - p)) : 0, u from the (seed, offset) stream.
function refDropout(x: ArrayLike<number>, p: number, seed: bigint, offset: bigint): Float64Array {
  const u = oracleUniform(seed, offset, x.length);
  const pf = Math.fround(p);
  const scale = Math.fround(1 / (1 - p));
  return Float64Array.from(x, (v, i) => (u[i] >= pf ? Math.fround(v * scale) : 0));
}

t.test('mask and values match the Philox oracle exactly at every SIMD level', (t) =>
  forEachSimd(t, (t) => {
    let seed = 1;
    for (const n of [...ODD_SIZES, 64, 1000, 4099]) {
      for (const p of [0.1, 0.5, 0.9]) {
        const xv = uniform(n, seed++, -3, 3);
        const s = BigInt(seed * 7919) * 0x100000001n; // both key words non-zero
        const r = dropoutForward(f32(xv, [n]), p, { seed: s });
        t.equal(r.seed, s);
        t.equal(r.offset, 0n);
        assertClose(t, r.out.toArray(), refDropout(xv, p, s, 0n), 0, 0, `forward n=${n} p=${p}`);
        const dv = uniform(n, seed++, -1, 1);
        assertClose(t, dropoutBackward(f32(dv, [n]), p, r.seed, r.offset).toArray(), refDropout(dv, p, s, 0n), 0, 0, `backward n=${n} p=${p}`);
      }
    }
  }),
);

t.test('every device: the same mask as the CPU, bit for bit (CUDA when present)', async (t) => {
  let seed = 50;
  for (const device of testDevices()) {
    for (const n of [...ODD_SIZES, 64, 4099]) {
      for (const p of [0.1, 0.5]) {
        const xv = uniform(n, seed++, -3, 3);
        const s = BigInt(seed * 104729) * 0x100000001n;
        const offset = (1n << 32n) + BigInt(seed); // both counter offset words in use
        const r = dropoutForward(f32(xv, [n], device), p, { seed: s });
        t.equal(r.out.device, device);
        const cpu = dropoutForward(f32(xv, [n], 'cpu'), p, { seed: s }).out.toArray();
        const got = r.out.toArray();
        t.ok(got.every((v, i) => Object.is(v, cpu[i])), `${device} forward n=${n} p=${p}: same bits as the CPU`);
        assertClose(t, got, refDropout(xv, p, s, 0n), 0, 0, `${device} forward n=${n} p=${p} vs the Philox oracle`);
        const dv = uniform(n, seed++, -1, 1);
        const back = dropoutBackward(f32(dv, [n], device), p, s, offset).toArray();
        assertClose(t, back, refDropout(dv, p, s, offset), 0, 0, `${device} backward n=${n} p=${p} at offset 2^32 + ${seed}`);
      }
    }
    // Dropped inf / NaN inputs give 0.
    const special = dropoutForward(cg.tensor([Infinity, NaN, -Infinity, 1, NaN, Infinity, 2, 3], { device }), 0.5, { seed: 3 });
    const ref = refDropout([Infinity, NaN, -Infinity, 1, NaN, Infinity, 2, 3], 0.5, 3n, 0n);
    t.same(Array.from(special.out.toArray()).map(String), Array.from(ref).map(String), `${device}: special values`);
  }
});

t.test('default generator: state used, advanced by one, large offsets', async (t) => {
  const saved = cg.getRngState();
  try {
    const offset = (1n << 32n) + 5n; // exercises the counter's high offset word
    cg.setRngState({ seed: 12345n, offset });
    const xv = uniform(1000, 3);
    const r = dropoutForward(f32(xv, [1000]), 0.3);
    t.equal(r.seed, 12345n);
    t.equal(r.offset, offset);
    t.same(cg.getRngState(), { seed: 12345n, offset: offset + 1n }, 'generator advanced by one');
    assertClose(t, r.out.toArray(), refDropout(xv, 0.3, 12345n, offset), 0, 0, 'mask at a large offset');
    const r2 = dropoutForward(f32(xv, [1000]), 0.3);
    t.equal(r2.offset, offset + 1n);
    t.not(Array.from(r2.out.toArray()).join(), Array.from(r.out.toArray()).join(), 'next call draws a new mask');
    // Identity cases do not draw.
    dropoutForward(f32(xv, [1000]), 0.3, { training: false });
    dropoutForward(f32(xv, [1000]), 0);
    dropoutForward(f32(xv, [1000]), 1);
    t.same(cg.getRngState(), { seed: 12345n, offset: offset + 2n }, 'identity and p = 1 draw nothing');
    // manualSeed makes unseeded dropout reproducible.
    cg.manualSeed(9);
    const a = cg.dropout(cg.ones([333]), 0.5).toArray();
    cg.manualSeed(9);
    t.same(cg.dropout(cg.ones([333]), 0.5).toArray(), a, 'reproducible after manualSeed');
  } finally {
    cg.setRngState(saved);
  }
});

t.test('keep rate and scale', async (t) => {
  const n = 1 << 20;
  for (const p of [0.1, 0.5, 0.75]) {
    const out = cg.dropout(cg.ones([n]), p, { seed: 42 }).toArray();
    let kept = 0;
    const scale = Math.fround(1 / (1 - p));
    for (const v of out) {
      if (v !== 0) {
        kept++;
        if (v !== scale) t.fail(`kept value ${v}, want ${scale}`);
      }
    }
    const threads = cg.getNumThreads();
    cg.setNumThreads(1);
    const one = cg.dropout(cg.ones([n]), p, { seed: 42 }).toArray();
    cg.setNumThreads(threads);
    t.ok(one.every((v, i) => v === out[i]), `p=${p}: same mask on 1 and ${threads} threads`);
    const sd = Math.sqrt((p * (1 - p)) / n);
    t.ok(Math.abs(kept / n - (1 - p)) < 6 * sd, `p=${p}: keep rate ${(kept / n).toFixed(5)} within 6 sd (${sd.toExponential(1)}) of ${1 - p}`);
  }
});

t.test('backward agrees with central finite differences', async (t) => {
  const n = 9;
  const xv = uniform(n, 5, -2, 2);
  const w = uniform(n, 6);
  const loss = (x: Float64Array) => dot(cg.dropout(f32(x, [n]), 0.4, { seed: 77 }).toArray(), w);
  const r = dropoutForward(f32(xv, [n]), 0.4, { seed: 77 });
  assertClose(t, dropoutBackward(f32(w, [n]), 0.4, r.seed, r.offset).toArray(), numericGrad(loss, xv, 1e-2), 1e-3, 1e-3, 'analytic vs numeric');
});

t.test('identity, zeros, special values, shapes', async (t) => {
  const x = cg.tensor([[1, NaN, Infinity], [-2, 3, 4]]);
  const same = (a: ArrayLike<number>, b: ArrayLike<number>) => t.same(Array.from(a).map(String), Array.from(b).map(String));
  same(cg.dropout(x, 0.5, { training: false }).toArray(), x.toArray());
  same(cg.dropout(x, 0).toArray(), x.toArray());
  same(cg.dropout(x, 1).toArray(), [0, 0, 0, 0, 0, 0]);
  same(dropoutBackward(x, 1, 1, 0).toArray(), [0, 0, 0, 0, 0, 0]);
  same(dropoutBackward(x, 0, 1, 0).toArray(), x.toArray());
  t.same(x.dropout(0.5).shape, [2, 3]);
  t.same(cg.dropout(cg.zeros([0, 3]), 0.5).shape, [0, 3]);
  // Dropped NaN / inf inputs give 0, kept ones stay NaN / inf.
  const big = cg.full([4096], Infinity);
  const out = cg.dropout(big, 0.5, { seed: 1 }).toArray();
  t.ok(Array.from(out).every((v) => v === 0 || v === Infinity), 'inf inputs: 0 or inf, never NaN');
  const copy = cg.dropout(x, 0.5, { training: false });
  t.not(copy, x, 'identity returns a new tensor');
});

t.test('bad input', async (t) => {
  const x = cg.zeros([3]);
  t.throws(() => cg.dropout(x, 1.5), { name: 'RangeError', message: 'cudagrad.dropout: p must be in [0, 1], got 1.5' });
  t.throws(() => cg.dropout(x, -0.1), { name: 'RangeError', message: 'cudagrad.dropout: p must be in [0, 1], got -0.1' });
  t.throws(() => cg.dropout(x, NaN), { name: 'TypeError', message: 'cudagrad.dropout: p must be a number, got number NaN' });
  t.throws(() => dropoutBackward(x, 2, 1, 0), { name: 'RangeError', message: 'cudagrad.dropout backward: p must be in [0, 1], got 2' });
  t.throws(() => cg.dropout(cg.zeros([3], { dtype: 'int32' }), 0.5), { name: 'TypeError', message: 'cudagrad.dropout: input must be float32, got int32 tensor of shape [3]' });
  t.throws(() => cg.dropout(x, 0.5, { seed: -1 }), { name: 'RangeError', message: 'cudagrad.dropout: seed -1 must be a non-negative integer' });
  t.throws(() => cg.dropout(x, 0.5, { training: 'yes' } as never), { name: 'TypeError', message: "cudagrad.dropout: training must be a boolean, got the string 'yes'" });
  t.throws(() => cg.dropout(x, 0.5, { train: true } as never), { name: 'TypeError', message: "cudagrad.dropout: unknown option 'train' (expected one of training, seed)" });
  t.throws(() => dropoutBackward(x, 0.5, 1, -3), { name: 'RangeError', message: 'cudagrad.dropout backward: offset -3 must be a non-negative integer' });
  t.throws(() => dropoutBackward(x, 0.5, 1n << 64n, 0), { name: 'RangeError', message: 'cudagrad.dropout backward: seed 18446744073709551616 must be in [0, 2^64)' });
});
