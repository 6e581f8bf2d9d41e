// Shape ops on bfloat16 tensors, on every device (CUDA under the SIMT emulator
// in CI): every bf16 result, read back as float32 (exact), must equal bit for
// bit the same op on the float32 copy of the values. Odd sizes, empty tensors,
// slices at the ends, misaligned starts of 2-byte rows (the CUDA uint4 paths
// must step aside), -0, infinities and NaN; the backward ops keep bfloat16
// (slice: exact copy; gather: float32 sums rounded once); errors name the op,
// the dtype and the shape. Through autograd, the gradient of a bfloat16 leaf
// is the float32 gradient rounded once (test/oracle.ts bf16Round).
import t from 'tap';
import type { Test } from 'tap';

import * as cg from '../lib/index';
import { concatBackward, gatherBackward, permuteBackward, sliceBackward } from '../lib/ops/shape';
import { assertClose, bf16Round, testDevices, uniform } from './oracle';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

// Values that are not all ordinary: -0, +-inf, NaN, a float32 subnormal.
function values(n: number, seed: number): Float32Array {
  const v = Float32Array.from(uniform(n, seed, -3, 3));
  const special = [-0, Infinity, -Infinity, NaN, 1e-40];
  for (let k = 0; k < special.length && k * 7 < n; k++) v[k * 7] = special[k];
  return v;
}

/** A bfloat16 tensor of `shape` (values rounded from float32) and its exact float32 copy. */
function pair(shape: number[], seed: number, device: cg.Device): [cg.Tensor, cg.Tensor] {
  const b = cg.cast(cg.tensor(values(size(shape), seed), { shape, device }), 'bfloat16');
  return [b, cg.cast(b, 'float32')];
}

const bits = (a: Float32Array | Int32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** The float32 bit patterns of got and want are equal. */
function sameArrayBits(t: Test, got: Float32Array | Int32Array, want: Float32Array | Int32Array, label: string): void {
  const g = bits(got);
  const w = bits(want);
  let bad = g.length === w.length ? -1 : 0;
  for (let i = 0; bad < 0 && i < g.length; i++) if (g[i] !== w[i]) bad = i;
  if (bad < 0) t.pass(`${label}: ${g.length} elements bit-exact`);
  else t.fail(`${label}: element ${bad} is 0x${g[bad]?.toString(16)}, want 0x${w[bad]?.toString(16)} (lengths ${g.length}, ${w.length})`);
}

/** got (bfloat16) has want's (float32) shape and device and, read back, the same bits. */
function sameBits(t: Test, got: cg.Tensor, want: cg.Tensor, label: string): void {
  t.same([got.dtype, got.shape, got.device], ['bfloat16', want.shape, want.device], `${label}: dtype, shape, device`);
  sameArrayBits(t, got.toArray(), want.toArray(), label);
}

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, k) => [...p.slice(0, k), n - 1, ...p.slice(k)]));
}

t.test('permute / transpose of bfloat16: every permutation, odd and aligned sizes, empty; backward', async (t) => {
  // CUDA paths: [7, 33, 5] plane tiles; [2, 9, 5, 2] and [3, 6, 4, 7] the attention swap
  // with E = 2, 7; [2, 3, 5, 16] rows of 16 halves (uint4); [2, 3, 5, 9] rows of 9 (odd);
  // [33, 65] the last-two swap; [1], [7] and [3, 1, 7] the flat copy
  const shapes = [[1], [7], [3, 1, 7], [33, 65], [7, 33, 5], [2, 9, 5, 2], [3, 6, 4, 7], [2, 3, 5, 16], [2, 3, 5, 9]];
  for (const device of testDevices()) {
    for (const [k, shape] of shapes.entries()) {
      const [xb, xf] = pair(shape, k + 1, device);
      for (const dims of permutations(shape.length)) {
        const label = `${device} ${JSON.stringify(shape)} by ${JSON.stringify(dims)}`;
        const y = cg.permute(xb, dims);
        sameBits(t, y, cg.permute(xf, dims), label);
        sameBits(t, permuteBackward(y, dims), xf, `${label} backward`);
      }
    }
    const [xb, xf] = pair([129, 257], 20, device);
    sameBits(t, cg.transpose(xb, 0, 1), cg.transpose(xf, 0, 1), `${device} [129, 257] transpose (threads)`);
    sameBits(t, xb.transpose(-1, 0), xf.transpose(-1, 0), `${device} Tensor.transpose`);
    for (const [shape, dims] of [[[0, 3], [1, 0]], [[3, 0, 2], [2, 0, 1]]]) {
      const [eb, ef] = pair(shape, 1, device);
      sameBits(t, cg.permute(eb, dims), cg.permute(ef, dims), `${device} empty ${JSON.stringify(shape)} by ${JSON.stringify(dims)}`);
    }
  }
});

t.test('slice of bfloat16: Python bounds, every axis, ends, misaligned starts; backward stays bfloat16', async (t) => {
  const bounds: [number, number | undefined][] = [[0, undefined], [1, undefined], [2, 5], [-1, undefined], [0, 1], [-3, -1], [5, 2], [-100, 100], [3, 11]];
  // [4, 16, 8]: rows and offsets in multiples of 8 halves for some bounds (CUDA uint4); [3, 7, 1], [1, 33, 3]: odd
  for (const device of testDevices()) {
    for (const [k, shape] of [[3, 7, 1], [1, 33, 3], [4, 16, 8]].entries()) {
      const [xb, xf] = pair(shape, 10 + k, device);
      for (let axis = -3; axis < 3; axis++) {
        for (const [start, end] of bounds) {
          const label = `${device} ${JSON.stringify(shape)} axis ${axis} [${start}:${end}]`;
          const y = cg.slice(xb, axis, start, end);
          sameBits(t, y, cg.slice(xf, axis, start, end), label);
          const [db, df] = pair(y.shape as number[], 30 + k, device);
          sameBits(t, sliceBackward(db, shape, axis, start, end), sliceBackward(df, shape, axis, start, end), `${label} backward`);
        }
      }
    }
    // [3, 24] from 1: 16-half rows at a 2-byte offset; [300, 301]: over threads
    for (const [shape, axis, start, end] of [[[3, 24], 1, 1, 17], [[3, 24], 1, 8, 24], [[300, 301], 1, 1, 300], [[300, 301], 0, 10, 290]] as [number[], number, number, number][]) {
      const [xb, xf] = pair(shape, 40, device);
      const label = `${device} ${JSON.stringify(shape)} axis ${axis} [${start}:${end}]`;
      sameBits(t, xb.slice(axis, start, end), xf.slice(axis, start, end), label);
      sameBits(t, sliceBackward(xb.slice(axis, start, end), shape, axis, start, end), sliceBackward(xf.slice(axis, start, end), shape, axis, start, end), `${label} backward`);
    }
  }
});

t.test('concat and split of bfloat16: odd and misaligned pieces, many inputs, empty pieces', async (t) => {
  for (const device of testDevices()) {
    for (const [base, lens] of [
      [[3, 4, 5], [2, 0, 7, 1]],
      [[3, 4, 8], [8, 16, 0, 8]],
      [[4, 3, 1], [1, 8, 7]],
      [[2, 3, 5], [1, 2, 3, 0, 1, 1, 2, 4, 1, 3, 2]],
    ] as [number[], number[]][]) {
      for (let axis = 0; axis < 3; axis++) {
        const shapes = lens.map((n) => base.map((s, d) => (d === axis ? n : s)));
        const xs = shapes.map((s, k) => pair(s, 50 + k, device));
        const label = `${device} ${JSON.stringify(base)} lens ${JSON.stringify(lens)} axis ${axis}`;
        const y = cg.concat(xs.map(([b]) => b), axis);
        sameBits(t, y, cg.concat(xs.map(([, f]) => f), axis), `concat ${label}`);
        concatBackward(y, lens, axis).forEach((p, k) => sameBits(t, p, xs[k][1], `split piece ${k} ${label}`));
        const pieces = cg.split(y, lens, axis - 3);
        pieces.forEach((p, k) => sameBits(t, p, xs[k][1], `cg.split piece ${k} ${label}`));
      }
    }
    const [ab, af] = pair([70001], 60, device);
    const [bb, bf] = pair([50003], 61, device);
    sameBits(t, cg.concat([ab, bb]), cg.concat([af, bf]), `${device} big concat over threads`);
  }
});

// dinp of gather backward by a float64 sum of the (bfloat16) dout values.
function gatherGrad64(dout: ArrayLike<number>, index: Int32Array, ishape: number[], xshape: number[], axis: number): Float64Array {
  const g = new Float64Array(size(xshape));
  for (let p = 0; p < index.length; p++) {
    let rest = p, off = 0, mul = 1;
    for (let d = ishape.length - 1; d >= 0; d--) {
      const c = rest % ishape[d];
      rest = Math.floor(rest / ishape[d]);
      off += (d === axis ? index[p] : c) * mul;
      mul *= xshape[d];
    }
    g[off] += dout[p];
  }
  return g;
}

t.test('gather of bfloat16 and its backward: float32 sums of bfloat16 dout, rounded once', async (t) => {
  const xshape = [4, 5, 7];
  for (const device of testDevices()) {
    const [xb, xf] = pair(xshape, 70, device);
    for (let axis = 0; axis < 3; axis++) {
      // index smaller than x in the other dims, larger along the axis: repeated indices
      const ishape = xshape.map((s, d) => (d === axis ? s + 4 : s - 1 - (d % 2)));
      const iv = Int32Array.from(uniform(size(ishape), 80 + axis, 0, xshape[axis] - 1e-6), Math.floor);
      const index = cg.tensor(iv, { shape: ishape, device });
      const label = `${device} axis ${axis}`;
      sameBits(t, cg.gather(xb, axis, index), cg.gather(xf, axis, index), `gather ${label}`);
      sameBits(t, xb.gather(axis - 3, index), xf.gather(axis - 3, index), `Tensor.gather ${label}`);
      const db = cg.cast(cg.tensor(Float32Array.from(uniform(size(ishape), 90 + axis, -1, 1)), { shape: ishape, device }), 'bfloat16');
      const df = cg.cast(db, 'float32');
      const g = gatherBackward(db, index, axis, xshape);
      // by definition: the float32 scatter-add of the exact float32 dout, rounded to bfloat16 once
      t.equal(g.dtype, 'bfloat16', `backward ${label} is bfloat16`);
      sameArrayBits(t, g.toArray(), Float32Array.from(gatherBackward(df, index, axis, xshape).toArray(), bf16Round), `backward ${label}`);
      // and against float64 sums: one bfloat16 rounding (relative 2^-8) plus float32 sums (tiny)
      assertClose(t, g.toArray(), gatherGrad64(df.toArray(), iv, ishape, xshape, axis), 1e-6, 2 ** -8, `backward ${label} vs float64`);
    }
    // 300 ones into one element: 300 in float32, then exact in bfloat16 (summing in bfloat16 would stop at 256)
    const ones = cg.cast(cg.ones([300, 3], { device }), 'bfloat16');
    const g = gatherBackward(ones, cg.zeros([300, 3], { dtype: 'int32', device }), 0, [2, 3]);
    t.same([g.dtype, Array.from(g.toArray())], ['bfloat16', [300, 300, 300, 0, 0, 0]], `${device} 300 repeats sum in float32`);
    const e = gatherBackward(cg.cast(cg.zeros([4, 0, 7], { device }), 'bfloat16'), cg.zeros([4, 0, 7], { dtype: 'int32', device }), 1, xshape);
    t.same([e.dtype, Array.from(e.toArray())], ['bfloat16', new Array(size(xshape)).fill(0)], `${device} empty index backward`);
    t.same(cg.gather(xb, 1, cg.zeros([4, 0, 7], { dtype: 'int32', device })).shape, [4, 0, 7], `${device} empty index`);
  }
});

t.test('gather of bfloat16 on CUDA: an out-of-range index is a RangeError at the next toArray()', async (t) => {
  const devices = testDevices().filter((d) => d !== 'cpu');
  for (const device of devices) {
    const [xb] = pair([3, 2], 1, device);
    const y = cg.gather(xb, 0, cg.tensor([[0, 1], [3, 0]], { dtype: 'int32', device }));
    t.throws(() => y.toArray(), { name: 'RangeError', message: 'cudagrad.gather: index 3 is out of range [0, 3) at position 2 (detected on the GPU)' });
  }
  if (!devices.length) t.pass('no CUDA device');
});

t.test('bfloat16 errors name the op, the dtype and the shape', async (t) => {
  const [xb] = pair([2, 3], 1, 'cpu');
  const xi = cg.zeros([2, 3], { dtype: 'int32' });
  t.throws(() => cg.concat([xb, cg.zeros([2, 3])]), { name: 'TypeError', message: 'cudagrad.concat: tensor 1 is float32 but tensor 0 is bfloat16' });
  t.throws(() => cg.gather(xb, 0, xb), { name: 'TypeError', message: 'cudagrad.gather: index must be int32, got bfloat16 tensor of shape [2, 3]' });
  t.throws(() => sliceBackward(xi, [2, 3], 1, 0), {
    name: 'TypeError',
    message: 'cudagrad.slice backward: dout must be float32 or bfloat16, got int32 tensor of shape [2, 3]',
  });
  t.throws(() => gatherBackward(xi, xi, 1, [2, 3]), {
    name: 'TypeError',
    message: 'cudagrad.gather backward: dout must be float32 or bfloat16, got int32 tensor of shape [2, 3]',
  });
  t.throws(() => cg.permute(xb, [0, 0]), { name: 'RangeError', message: 'cudagrad.permute: dims [0, 0] are not a permutation of the 2 dims of shape [2, 3]' });
});

type Op = (x: cg.Tensor) => cg.Tensor;

t.test('autograd through the shape ops: a bfloat16 leaf gets the float32 gradient rounded once', async (t) => {
  const shape = [3, 7, 5];
  // (3, 9, last) indices into an axis of 7, with repeats
  const index = (device: cg.Device, last = 5) => cg.tensor(Int32Array.from(uniform(27 * last, 5, 0, 6.999), Math.floor), { shape: [3, 9, last], device });
  const cases: [string, (device: cg.Device) => Op][] = [
    ['transpose', () => (x) => cg.transpose(x, 0, 2)],
    ['permute', () => (x) => x.permute(1, 2, 0)],
    ['slice (odd start, to the end)', () => (x) => cg.slice(x, 1, 3)],
    ['slice of the last element', () => (x) => x.slice(2, -1)],
    ['concat with itself (two uses, summed in float32)', () => (x) => cg.concat([x, x.slice(1, 2, 5)], 1)],
    ['split, one piece used (the others get bfloat16 zeros)', () => (x) => cg.split(x, [2, 1, 4], 1)[1]],
    ['split, two pieces used', () => (x) => cg.concat(cg.split(x, [2, 1, 4], 1).filter((_, k) => k !== 1), 1)],
    ['gather with repeated indices', (device) => (x) => cg.gather(x, 1, index(device))],
    ['a chain: permute, slice, gather, transpose', (device) => (x) => cg.gather(x.permute(2, 0, 1).slice(0, 1, 4).permute(1, 2, 0), 1, index(device, 3)).transpose(0, 1)],
    ['clone and reshape', () => (x) => x.clone().reshape(7, 15)],
  ];
  for (const device of testDevices()) {
    cases.forEach(([name, make], k) => {
      const f = make(device);
      const v = Float32Array.from(uniform(size(shape), 200 + k, -2, 2), bf16Round);
      const x16 = cg.tensor(v, { shape, dtype: 'bfloat16', device, requiresGrad: true });
      const x32 = cg.tensor(v, { shape, device, requiresGrad: true });
      const y16 = f(x16);
      const y32 = f(x32);
      sameBits(t, y16, y32, `${device} ${name}: forward`);
      const w = Float32Array.from(uniform(y32.size, 300 + k, -1, 1), bf16Round);
      y16.backward(cg.tensor(w, { shape: [...y16.shape], dtype: 'bfloat16', device }));
      y32.backward(cg.tensor(w, { shape: [...y32.shape], device }));
      t.equal(x16.grad?.dtype, 'bfloat16', `${device} ${name}: the gradient is bfloat16`);
      sameArrayBits(t, x16.grad!.toArray(), Float32Array.from(x32.grad!.toArray(), bf16Round), `${device} ${name}: gradient`);
    });
  }
});

t.test('shape ops inside a bfloat16 model step: bf16 gradients meet bf16 pieces', async (t) => {
  // An attention-like reshuffle: (B, T, C) -> split heads -> (B, H, T, D) -> back, then a float32 loss.
  for (const device of testDevices()) {
    const [B, T, H, D] = [2, 3, 2, 5];
    const v = Float32Array.from(uniform(B * T * H * D, 9, -1, 1), bf16Round);
    const run = (dtype: cg.DType) => {
      const x = cg.tensor(v, { shape: [B, T, H * D], dtype, device, requiresGrad: true });
      const heads = x.reshape(B, T, H, D).permute(0, 2, 1, 3); // (B, H, T, D)
      const [q, k] = cg.split(heads, [1, 1], 1); // (B, 1, T, D) each
      const back = cg.concat([k, q], 1).permute(0, 2, 1, 3).reshape(B, T, H * D); // heads swapped
      cg.sum(cg.mul(back.cast('float32'), cg.arange(B * T * H * D, { dtype: 'float32', device }).reshape(B, T, H * D))).backward();
      return x;
    };
    const x16 = run('bfloat16');
    const x32 = run('float32');
    t.equal(x16.grad?.dtype, 'bfloat16', `${device} gradient dtype`);
    sameArrayBits(t, x16.grad!.toArray(), Float32Array.from(x32.grad!.toArray(), bf16Round), `${device} gradient`);
  }
});
