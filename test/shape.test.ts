// Shape ops forward and backward against naive references, on every device
// (CUDA: swap tiles for the last-two and attention transposes, plane tiles,
// uint4 row copies, batched concat copies): every permutation of 3-D and 4-D
// shapes (both dtypes), Python slice semantics, concat/split, torch.gather and
// its scatter-add backward, finite differences, bad input with exact messages,
// and out-of-range gather indices found on the GPU (RangeError at toArray).
import t from 'tap';

import * as cg from '../lib/index';
import { concatBackward, gatherBackward, permuteBackward, sliceBackward } from '../lib/ops/shape';
import { assertClose, dot, f32, numericGrad, testDevices, uniform } from './oracle';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function strides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  for (let d = shape.length - 1, acc = 1; d >= 0; d--) {
    st[d] = acc;
    acc *= shape[d];
  }
  return st;
}

// Multi-index of flat position i in shape.
function unflat(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

function refPermute(xv: ArrayLike<number>, shape: number[], dims: number[]): number[] {
  const os = dims.map((d) => shape[d]);
  const st = strides(shape);
  return Array.from({ length: size(os) }, (_, i) => {
    const oi = unflat(i, os);
    return xv[oi.reduce((acc, c, k) => acc + c * st[dims[k]], 0)];
  });
}

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, k) => [...p.slice(0, k), n - 1, ...p.slice(k)]));
}

const ints = (n: number, seed: number) => Int32Array.from(uniform(n, seed, -1000, 1000), Math.round);

t.test('permute: every permutation of 3-D and 4-D shapes, float32 and int32, on every device', async (t) => {
  // [2, 9, 5, 2], [3, 6, 4, 7]: the attention swap with 2- and 7-word rows (CUDA swap tiles, partial)
  const shapes = [[7, 33, 5], [2, 3, 4, 5], [1, 7, 1, 33], [33, 257, 3], [3, 65, 40], [2, 9, 5, 2], [3, 6, 4, 7], [31, 32, 33]];
  for (const device of testDevices()) {
    for (const shape of shapes) {
      const xv = uniform(size(shape), shape.length, -1, 1);
      const x = f32(xv, shape, device);
      const iv = ints(size(shape), 1);
      const xi = cg.tensor(iv, { shape, device });
      for (const dims of permutations(shape.length)) {
        const label = `${device} ${JSON.stringify(shape)} by ${JSON.stringify(dims)}`;
        const y = cg.permute(x, dims);
        t.same([y.shape, y.device], [dims.map((d) => shape[d]), device], `${label} shape`);
        assertClose(t, y.toArray(), refPermute(xv, shape, dims), 0, 0, label);
        t.same(Array.from(cg.permute(xi, dims).toArray()), refPermute(iv, shape, dims), `${label} int32`);
        assertClose(t, permuteBackward(y, dims).toArray(), xv, 0, 0, `${label} backward is the inverse`);
      }
    }
  }
});

t.test('permute: attention layouts and big last-two transposes (threads, partial tiles), on every device', async (t) => {
  for (const device of testDevices()) {
    for (const [shape, dims] of [
      [[2, 33, 3, 17], [0, 2, 1, 3]],
      [[8, 256, 8, 64], [0, 2, 1, 3]],
      [[8, 8, 256, 64], [0, 2, 1, 3]],
      [[3, 70, 5, 4], [0, 2, 1, 3]],
      [[2, 5, 70, 3], [0, 2, 1, 3]],
      [[3, 257, 129], [0, 2, 1]],
      [[2, 3, 70, 65], [0, 1, 3, 2]],
      [[33, 4, 65], [2, 1, 0]],
      [[100003], [0]],
      [[65, 66], [-1, -2]],
    ] as [number[], number[]][]) {
      const xv = uniform(size(shape), 7, -1, 1);
      const y = cg.permute(f32(xv, shape, device), dims);
      const nd = shape.length;
      const want = refPermute(xv, shape, dims.map((d) => (d < 0 ? d + nd : d)));
      assertClose(t, y.toArray(), want, 0, 0, `${device} ${JSON.stringify(shape)} by ${JSON.stringify(dims)}`);
    }
  }
  const x = f32(uniform(6, 1), [2, 3]);
  assertClose(t, cg.transpose(x, 0, 1).toArray(), refPermute(x.toArray(), [2, 3], [1, 0]), 0, 0, 'transpose');
  assertClose(t, cg.transpose(x, -1, 0).toArray(), refPermute(x.toArray(), [2, 3], [1, 0]), 0, 0, 'transpose negative dims');
  assertClose(t, x.transpose(1, 1).toArray(), x.toArray(), 0, 0, 'transpose a dim with itself');
  t.same(x.permute(1, 0).shape, [3, 2]);
  t.same(x.permute([1, 0]).shape, [3, 2]);
  t.same(cg.permute(cg.tensor(3), []).shape, []);
  t.same(cg.permute(cg.zeros([0, 3]), [1, 0]).shape, [3, 0]);
});

t.test('slice: Python semantics (negative, clamped, empty), both dtypes; backward; on every device', async (t) => {
  const bounds: [number, number | undefined][] = [
    [0, undefined], [2, 5], [-3, undefined], [-3, -1], [5, 2], [-100, 100], [7, 9], [0, 0], [-1, undefined], [3, -100], [4, 8],
  ];
  // [4, 8, 12]: rows and offsets in multiples of 4 words (CUDA uint4 copies) for some bounds
  for (const device of testDevices()) {
    for (const shape of [[4, 7, 3], [4, 8, 12]]) {
      const xv = uniform(size(shape), 3, -1, 1);
      const x = f32(xv, shape, device);
      const iv = ints(size(shape), 2);
      const xi = cg.tensor(iv, { shape, device });
      for (let axis = -3; axis < 3; axis++) {
        const a = axis < 0 ? axis + 3 : axis;
        for (const [start, end] of bounds) {
          // Array.prototype.slice has Python's rules for negative and out-of-range bounds.
          const keep = Array.from({ length: shape[a] }, (_, i) => i).slice(start, end);
          const os = shape.slice();
          os[a] = keep.length;
          const want = Array.from({ length: size(os) }, (_, i) => {
            const idx = unflat(i, os);
            idx[a] = keep[idx[a]];
            return idx.reduce((acc, c, d) => acc + c * strides(shape)[d], 0);
          });
          const label = `${device} ${JSON.stringify(shape)} axis ${axis} [${start}:${end}]`;
          const y = cg.slice(x, axis, start, end);
          t.same([y.shape, y.device], [os, device], `${label} shape`);
          assertClose(t, y.toArray(), want.map((j) => xv[j]), 0, 0, label);
          t.same(Array.from(xi.slice(axis, start, end).toArray()), want.map((j) => iv[j]), `${label} int32`);
          const dv = uniform(size(os), 9, -1, 1);
          const g = new Float64Array(size(shape));
          want.forEach((j, i) => (g[j] = dv[i]));
          assertClose(t, sliceBackward(f32(dv, os, device), shape, axis, start, end).toArray(), g, 0, 0, `${label} backward`);
        }
      }
    }
    const bv = uniform(300 * 301, 4);
    const big = f32(bv, [300, 301], device);
    assertClose(t, cg.slice(big, 1, 1, 300).toArray(), refSlice2(bv, 300, 301, 1, 300), 0, 0, `${device} big slice over threads`);
    const back = sliceBackward(cg.slice(big, 0, 10, 290), [300, 301], 0, 10, 290).toArray();
    assertClose(t, back, zeroRows(bv, 301, 10, 290), 0, 0, `${device} big backward`);
  }
});

function refSlice2(v: ArrayLike<number>, rows: number, cols: number, a: number, b: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) for (let c = a; c < b; c++) out.push(v[r * cols + c]);
  return out;
}

function zeroRows(v: ArrayLike<number>, cols: number, a: number, b: number): number[] {
  return Array.from(v, (x, i) => (Math.floor(i / cols) >= a && Math.floor(i / cols) < b ? x : 0));
}

t.test('concat along every axis, both dtypes; backward splits; on every device', async (t) => {
  // [3, 4, 8] with lens of multiples of 4: aligned uint4 copies on CUDA; 11 inputs: more than one launch (8 per launch)
  for (const device of testDevices()) {
    for (const [base, lens] of [
      [[3, 4, 5], [2, 0, 7, 1]],
      [[3, 4, 8], [4, 8, 0, 4]],
      [[2, 3, 5], [1, 2, 3, 0, 1, 1, 2, 4, 1, 3, 2]],
    ] as [number[], number[]][]) {
      for (let axis = 0; axis < 3; axis++) {
        const shapes = lens.map((n) => base.map((s, d) => (d === axis ? n : s)));
        const vals = shapes.map((s, k) => uniform(size(s), 20 + k, -1, 1));
        const xs = shapes.map((s, k) => f32(vals[k], s, device));
        const y = cg.concat(xs, axis);
        const os = base.map((s, d) => (d === axis ? lens.reduce((a, b) => a + b) : s));
        t.same([y.shape, y.device], [os, device]);
        // reference: for each output element find which input it came from
        const want = Array.from({ length: size(os) }, (_, i) => {
          const idx = unflat(i, os);
          let k = 0;
          while (idx[axis] >= lens[k]) idx[axis] -= lens[k++];
          return vals[k][idx.reduce((acc, c, d) => acc + c * strides(shapes[k])[d], 0)];
        });
        const label = `${device} ${JSON.stringify(base)} ${lens.length} inputs axis`;
        assertClose(t, y.toArray(), want, 0, 0, `concat ${label} ${axis}`);
        assertClose(t, cg.concat(xs, axis - 3).toArray(), want, 0, 0, `concat ${label} ${axis - 3}`);
        const parts = concatBackward(y, lens, axis);
        parts.forEach((p, k) => {
          t.same(p.shape, shapes[k]);
          assertClose(t, p.toArray(), vals[k], 0, 0, `split piece ${k} ${label} ${axis}`);
        });
        const ints32 = xs.map((x, k) => cg.tensor(Int32Array.from(vals[k], (v) => Math.round(v * 100)), { shape: x.shape, device }));
        t.same(Array.from(cg.concat(ints32, axis).toArray()), want.map((v) => Math.round(Math.fround(v) * 100)), `concat int32 ${label} ${axis}`);
      }
    }
    const bv = [uniform(70000, 1), uniform(50001, 2)];
    const big = [f32(bv[0], [70000], device), f32(bv[1], [50001], device)];
    assertClose(t, cg.concat(big).toArray(), [...Float32Array.from(bv[0]), ...Float32Array.from(bv[1])], 0, 0, `${device} big concat over threads`);
    t.same(cg.concat([cg.zeros([2, 3], { device })], 1).shape, [2, 3]);
  }
});

t.test('gather (torch.gather) and its scatter-add backward, on every device', async (t) => {
  const xshape = [4, 5, 6];
  const xv = uniform(size(xshape), 1, -1, 1);
  const xiv = ints(size(xshape), 3);
  for (const device of testDevices()) {
    const x = f32(xv, xshape, device);
    const xi = cg.tensor(xiv, { shape: xshape, device });
    for (let axis = 0; axis < 3; axis++) {
      // index smaller than x in the other dims, larger along the axis, with repeats
      const ishape = xshape.map((s, d) => (d === axis ? s + 3 : s - 1 - d));
      const iv = Int32Array.from(uniform(size(ishape), 10 + axis, 0, xshape[axis] - 1e-6), Math.floor);
      const index = cg.tensor(iv, { shape: ishape, device });
      const st = strides(xshape);
      const src = Array.from(iv, (v, p) => {
        const idx = unflat(p, ishape);
        idx[axis] = v;
        return idx.reduce((acc, c, d) => acc + c * st[d], 0);
      });
      for (const ax of [axis, axis - 3]) {
        const y = cg.gather(x, ax, index);
        t.same([y.shape, y.device], [ishape, device]);
        assertClose(t, y.toArray(), src.map((j) => xv[j]), 0, 0, `${device} gather axis ${ax}`);
        t.same(Array.from(cg.gather(xi, ax, index).toArray()), src.map((j) => xiv[j]), `${device} gather int32 axis ${ax}`);
        t.same(x.gather(ax, index).toArray(), y.toArray(), 'the Tensor method gives the same');
        const dv = uniform(size(ishape), 30 + axis, -1, 1);
        const g = new Float64Array(size(xshape));
        src.forEach((j, p) => (g[j] += dv[p]));
        const got = gatherBackward(f32(dv, ishape, device), index, ax, xshape).toArray();
        assertClose(t, got, g, 1e-6, 1e-6, `${device} gather backward axis ${ax}`);
      }
    }
    // Embedding-like: big scatter with many repeats over threads, deterministic
    const table = [1000, 8];
    const iv = Int32Array.from(uniform(50000 * 8, 2, 0, 999.99), Math.floor);
    const index = cg.tensor(iv, { shape: [50000, 8], device });
    const dv = uniform(50000 * 8, 3, -1, 1);
    const dout = f32(dv, [50000, 8], device);
    const g = gatherBackward(dout, index, 0, table).toArray();
    const want = new Float64Array(8000);
    iv.forEach((v, p) => (want[v * 8 + (p % 8)] += dv[p]));
    assertClose(t, g, want, 1e-4, 1e-5, `${device} big gather backward`);
    t.ok(Buffer.from(gatherBackward(dout, index, 0, table).toArray().buffer).equals(Buffer.from(g.buffer)), `${device} big gather backward is deterministic`);
    t.same(cg.gather(cg.tensor(2.5, { device }), 0, cg.tensor(0, { dtype: 'int32', device })).item(), 2.5, '0-d');
    t.same(cg.gather(x, 1, cg.zeros([4, 0, 6], { dtype: 'int32', device })).shape, [4, 0, 6], 'empty index');
    const e = gatherBackward(cg.zeros([4, 0, 6], { device }), cg.zeros([4, 0, 6], { dtype: 'int32', device }), 1, xshape);
    t.same(Array.from(e.toArray()), new Array(size(xshape)).fill(0), 'empty index backward');
  }
});

t.test('backward agrees with central finite differences on every device', async (t) => {
  const shape = [2, 3, 4];
  const xv = uniform(24, 5, -1, 1);
  for (const device of testDevices()) {
    const check = (label: string, f: (x: cg.Tensor) => cg.Tensor, back: (d: cg.Tensor) => cg.Tensor) => {
      const oshape = f(f32(xv, shape, device)).shape as number[];
      const w = uniform(size(oshape), 6);
      const num = numericGrad((x) => dot(f(f32(x, shape, device)).toArray(), w), xv, 1e-2);
      assertClose(t, back(f32(w, oshape, device)).toArray(), num, 2e-3, 2e-2, `${device} ${label} analytic vs numeric`);
    };
    check('permute', (x) => cg.permute(x, [2, 0, 1]), (d) => permuteBackward(d, [2, 0, 1]));
    check('transpose', (x) => cg.transpose(x, 1, 2), (d) => cg.transpose(d, 1, 2));
    check('slice', (x) => cg.slice(x, 2, 1, -1), (d) => sliceBackward(d, shape, 2, 1, -1));
    const other = f32(uniform(8, 7), [2, 1, 4], device);
    check('concat', (x) => cg.concat([other, x], 1), (d) => concatBackward(d, [1, 3], 1)[1]);
    const index = cg.tensor([[[0, 2, 2, 1]], [[1, 1, 0, 0]]], { dtype: 'int32', device });
    check('gather', (x) => cg.gather(x, 1, index), (d) => gatherBackward(d, index, 1, shape));
  }
});

t.test('gather on CUDA: out-of-range indices are found on the device, RangeError at the next toArray()', async (t) => {
  const devices = testDevices().filter((d) => d !== 'cpu');
  for (const device of devices) {
    const x = f32([1, 2, 3, 4, 5, 6], [3, 2], device);
    const idx = (v: number[][]) => cg.tensor(v, { dtype: 'int32', device });
    // No host sync at the call: the op returns, the error comes with the next copy to host.
    const y = cg.gather(x, 0, idx([[0, 1], [3, 0]]));
    t.same(y.shape, [2, 2]);
    t.throws(() => y.toArray(), { name: 'RangeError', message: 'cudagrad.gather: index 3 is out of range [0, 3) at position 2 (detected on the GPU)' });
    // The record is cleared once raised; good indices work again.
    t.same(Array.from(cg.gather(x, 1, idx([[1], [0], [1]])).toArray()), [2, 3, 6], 'after the error');
    const z = cg.gather(x, 1, idx([[0, -1]]));
    t.throws(() => z.toArray(), { name: 'RangeError', message: 'cudagrad.gather: index -1 is out of range [0, 2) at position 1 (detected on the GPU)' });
    const g = gatherBackward(cg.ones([1, 2], { device }), idx([[0, 5]]), 1, [3, 2]);
    t.throws(() => g.toArray(), { name: 'RangeError', message: 'cudagrad.gather: index 5 is out of range [0, 2) at position 1 (detected on the GPU)' });
    // Raised by whichever copy to host comes next, here another tensor's.
    cg.gather(x, 0, idx([[7, 0]]));
    t.throws(() => x.toArray(), { name: 'RangeError', message: /cudagrad.gather: index 7 is out of range \[0, 3\)/ });
    t.same(Array.from(x.toArray()), [1, 2, 3, 4, 5, 6], 'x itself is unharmed');
  }
  if (!devices.length) t.pass('no CUDA device');
});

t.test('bad input', async (t) => {
  const x = cg.zeros([2, 3, 4]);
  const idx = (v: number[][], shape?: number[]) => cg.tensor(v, { dtype: 'int32', ...(shape ? { shape } : {}) });
  t.throws(() => cg.permute(x, [0, 0, 1]), { name: 'RangeError', message: 'cudagrad.permute: dims [0, 0, 1] are not a permutation of the 3 dims of shape [2, 3, 4]' });
  t.throws(() => cg.permute(x, [1, 0]), { name: 'RangeError', message: 'cudagrad.permute: dims [1, 0] are not a permutation of the 3 dims of shape [2, 3, 4]' });
  t.throws(() => cg.permute(x, [0, 1, 3]), { name: 'RangeError', message: 'cudagrad.permute: dims [0, 1, 3] are not a permutation of the 3 dims of shape [2, 3, 4]' });
  t.throws(() => cg.permute(x, [0, 1.5, 2]), { name: 'TypeError', message: 'cudagrad.permute: dims[1] must be an integer, got number 1.5' });
  t.throws(() => cg.transpose(x, 0, 3), { name: 'RangeError', message: 'cudagrad.transpose: dim1 3 is out of range for shape [2, 3, 4] (expected -3 to 2)' });
  t.throws(() => cg.slice(x, 3, 0), { name: 'RangeError', message: 'cudagrad.slice: axis 3 is out of range for shape [2, 3, 4] (expected -3 to 2)' });
  t.throws(() => cg.slice(cg.tensor(1), 0, 0), { name: 'RangeError', message: 'cudagrad.slice: cannot slice a 0-d tensor' });
  t.throws(() => sliceBackward(cg.zeros([2, 3, 4]), [2, 3, 4], 1, 1), {
    name: 'RangeError',
    message: 'cudagrad.slice backward: dout has shape [2, 3, 4] but slicing shape [2, 3, 4] along axis 1 from 1 to the end gives [2, 2, 4]',
  });
  t.throws(() => cg.concat([]), { name: 'RangeError', message: 'cudagrad.concat: needs at least one tensor, got an empty list' });
  t.throws(() => cg.concat([x, cg.zeros([2, 3, 5])], 1), {
    name: 'RangeError',
    message: 'cudagrad.concat: tensor 1 has shape [2, 3, 5] but tensor 0 has shape [2, 3, 4] (shapes must match except along axis 1)',
  });
  t.throws(() => cg.concat([x, cg.zeros([2, 3])]), {
    name: 'RangeError',
    message: 'cudagrad.concat: tensor 1 has shape [2, 3] but tensor 0 has shape [2, 3, 4] (shapes must match except along axis 0)',
  });
  t.throws(() => cg.concat([x, cg.zeros([2, 3, 4], { dtype: 'int32' })]), { name: 'TypeError', message: 'cudagrad.concat: tensor 1 is int32 but tensor 0 is float32' });
  t.throws(() => cg.concat([x, 1 as unknown as cg.Tensor]), { name: 'TypeError', message: 'cudagrad.concat: tensors[1] must be a Tensor, got number 1' });
  t.throws(() => cg.concat([x], 3), { name: 'RangeError', message: 'cudagrad.concat: axis 3 is out of range for shape [2, 3, 4] (expected -3 to 2)' });
  t.throws(() => concatBackward(x, [1, 2], 0), { name: 'RangeError', message: 'cudagrad.split: sizes [1, 2] sum to 3 but axis 0 of shape [2, 3, 4] has size 2' });
  const y = cg.zeros([3, 2]);
  t.throws(() => cg.gather(y, 0, cg.zeros([3, 2])), { name: 'TypeError', message: 'cudagrad.gather: index must be int32, got float32 tensor of shape [3, 2]' });
  t.throws(() => cg.gather(y, 0, idx([[0, 1]], [2])), {
    name: 'RangeError',
    message: 'cudagrad.gather: index has rank 1 (shape [2]) but the input has rank 2 (shape [3, 2])',
  });
  t.throws(() => cg.gather(y, 0, idx([[0, 0, 0]])), {
    name: 'RangeError',
    message: 'cudagrad.gather: index shape [1, 3] is larger than input shape [3, 2] at dim 1 (only axis 0 may be larger)',
  });
  t.throws(() => cg.gather(y, 0, idx([[0, 1], [3, 0]])), {
    name: 'RangeError',
    message: 'cudagrad.gather: index 3 at position [1, 0] is out of range for axis 0 of size 3 (shape [3, 2])',
  });
  t.throws(() => cg.gather(y, 1, idx([[0, -1]])), {
    name: 'RangeError',
    message: 'cudagrad.gather: index -1 at position [0, 1] is out of range for axis 1 of size 2 (shape [3, 2])',
  });
  t.throws(() => gatherBackward(cg.zeros([1, 2]), idx([[0, 5]]), 1, [3, 2]), {
    name: 'RangeError',
    message: 'cudagrad.gather backward: index 5 at position [0, 1] is out of range for axis 1 of size 2 (shape [3, 2])',
  });
  t.throws(() => gatherBackward(cg.zeros([2, 2]), idx([[0, 1]]), 1, [3, 2]), {
    name: 'RangeError',
    message: 'cudagrad.gather backward: dout has shape [2, 2] but index has shape [1, 2]',
  });
});
