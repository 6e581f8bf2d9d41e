// Shape ops forward and backward against naive references: every permutation
// of 3-D and 4-D shapes (tiled and row-copy paths, both dtypes), Python slice
// semantics, concat/split, torch.gather and its scatter-add backward, finite
// differences, bad input with exact messages.
import t from 'tap';

import * as cg from '../lib/index';
import { concatBackward, gatherBackward, permuteBackward, sliceBackward } from '../lib/ops/shape';
import { assertClose, dot, f32, numericGrad, uniform } from './oracle';

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

t.test('permute: every permutation of 3-D and 4-D shapes, float32 and int32', async (t) => {
  for (const shape of [[7, 33, 5], [2, 3, 4, 5], [1, 7, 1, 33], [33, 257, 3], [3, 65, 40]]) {
    const xv = uniform(size(shape), shape.length, -1, 1);
    const x = f32(xv, shape);
    const xi = cg.tensor(ints(size(shape), 1), { shape });
    for (const dims of permutations(shape.length)) {
      const label = `${JSON.stringify(shape)} by ${JSON.stringify(dims)}`;
      const y = cg.permute(x, dims);
      t.same(y.shape, dims.map((d) => shape[d]), `${label} shape`);
      assertClose(t, y.toArray(), refPermute(xv, shape, dims), 0, 0, label);
      t.same(Array.from(cg.permute(xi, dims).toArray()), refPermute(xi.toArray(), shape, dims), `${label} int32`);
      assertClose(t, permuteBackward(y, dims).toArray(), xv, 0, 0, `${label} backward is the inverse`);
    }
  }
});

t.test('permute: attention layouts and big last-two transposes (threads, partial tiles)', async (t) => {
  for (const [shape, dims] of [
    [[2, 33, 3, 17], [0, 2, 1, 3]],
    [[8, 256, 8, 64], [0, 2, 1, 3]],
    [[3, 257, 129], [0, 2, 1]],
    [[2, 3, 70, 65], [0, 1, 3, 2]],
    [[100003], [0]],
    [[65, 66], [-1, -2]],
  ] as [number[], number[]][]) {
    const xv = uniform(size(shape), 7, -1, 1);
    const y = cg.permute(f32(xv, shape), dims);
    const nd = shape.length;
    assertClose(t, y.toArray(), refPermute(xv, shape, dims.map((d) => (d < 0 ? d + nd : d))), 0, 0, `${JSON.stringify(shape)} by ${JSON.stringify(dims)}`);
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

t.test('slice: Python semantics (negative, clamped, empty), both dtypes; backward', async (t) => {
  const shape = [4, 7, 3];
  const xv = uniform(size(shape), 3, -1, 1);
  const x = f32(xv, shape);
  const xi = cg.tensor(ints(size(shape), 2), { shape });
  const bounds: [number, number | undefined][] = [
    [0, undefined], [2, 5], [-3, undefined], [-3, -1], [5, 2], [-100, 100], [7, 9], [0, 0], [-1, undefined], [3, -100],
  ];
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
      const label = `axis ${axis} [${start}:${end}]`;
      const y = cg.slice(x, axis, start, end);
      t.same(y.shape, os, `${label} shape`);
      assertClose(t, y.toArray(), want.map((j) => xv[j]), 0, 0, label);
      t.same(Array.from(xi.slice(axis, start, end).toArray()), want.map((j) => xi.toArray()[j]), `${label} int32`);
      const dv = uniform(size(os), 9, -1, 1);
      const g = new Float64Array(size(shape));
      want.forEach((j, i) => (g[j] = dv[i]));
      assertClose(t, sliceBackward(f32(dv, os), shape, axis, start, end).toArray(), g, 0, 0, `${label} backward`);
    }
  }
  const big = f32(uniform(300 * 301, 4), [300, 301]);
  assertClose(t, cg.slice(big, 1, 1, 300).toArray(), refSlice2(big.toArray(), 300, 301, 1, 300), 0, 0, 'big slice over threads');
  assertClose(t, sliceBackward(cg.slice(big, 0, 10, 290), [300, 301], 0, 10, 290).toArray(), zeroRows(big.toArray(), 301, 10, 290), 0, 0, 'big backward');
});

function refSlice2(v: ArrayLike<number>, rows: number, cols: number, a: number, b: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) for (let c = a; c < b; c++) out.push(v[r * cols + c]);
  return out;
}

function zeroRows(v: ArrayLike<number>, cols: number, a: number, b: number): number[] {
  return Array.from(v, (x, i) => (Math.floor(i / cols) >= a && Math.floor(i / cols) < b ? x : 0));
}

t.test('concat along every axis, both dtypes; backward splits', async (t) => {
  const base = [3, 4, 5];
  for (let axis = 0; axis < 3; axis++) {
    const lens = [2, 0, 7, 1];
    const shapes = lens.map((n) => base.map((s, d) => (d === axis ? n : s)));
    const vals = shapes.map((s, k) => uniform(size(s), 20 + k, -1, 1));
    const xs = shapes.map((s, k) => f32(vals[k], s));
    const y = cg.concat(xs, axis);
    const os = base.map((s, d) => (d === axis ? lens.reduce((a, b) => a + b) : s));
    t.same(y.shape, os);
    // reference: for each output element find which input it came from
    const want = Array.from({ length: size(os) }, (_, i) => {
      const idx = unflat(i, os);
      let k = 0;
      while (idx[axis] >= lens[k]) idx[axis] -= lens[k++];
      return vals[k][idx.reduce((acc, c, d) => acc + c * strides(shapes[k])[d], 0)];
    });
    assertClose(t, y.toArray(), want, 0, 0, `concat axis ${axis}`);
    assertClose(t, cg.concat(xs, axis - 3).toArray(), want, 0, 0, `concat axis ${axis - 3}`);
    const parts = concatBackward(y, lens, axis);
    parts.forEach((p, k) => {
      t.same(p.shape, shapes[k]);
      assertClose(t, p.toArray(), vals[k], 0, 0, `split piece ${k} axis ${axis}`);
    });
    const yi = cg.concat(xs.map((x) => cg.tensor(Int32Array.from(x.toArray(), (v) => Math.round(v * 100)), { shape: x.shape })), axis);
    t.same(Array.from(yi.toArray()), want.map((v) => Math.round(Math.fround(v) * 100)), `concat int32 axis ${axis}`);
  }
  const big = [f32(uniform(70000, 1), [70000]), f32(uniform(50001, 2), [50001])];
  assertClose(t, cg.concat(big).toArray(), [...big[0].toArray(), ...big[1].toArray()], 0, 0, 'big concat over threads');
  t.same(cg.concat([cg.zeros([2, 3])], 1).shape, [2, 3]);
});

t.test('gather (torch.gather) and its scatter-add backward', async (t) => {
  const xshape = [4, 5, 6];
  const xv = uniform(size(xshape), 1, -1, 1);
  const x = f32(xv, xshape);
  const xi = cg.tensor(ints(size(xshape), 3), { shape: xshape });
  for (let axis = 0; axis < 3; axis++) {
    // index smaller than x in the other dims, larger along the axis, with repeats
    const ishape = xshape.map((s, d) => (d === axis ? s + 3 : s - 1 - d));
    const iv = Int32Array.from(uniform(size(ishape), 10 + axis, 0, xshape[axis] - 1e-6), Math.floor);
    const index = cg.tensor(iv, { shape: ishape });
    const st = strides(xshape);
    const src = Array.from(iv, (v, p) => {
      const idx = unflat(p, ishape);
      idx[axis] = v;
      return idx.reduce((acc, c, d) => acc + c * st[d], 0);
    });
    for (const ax of [axis, axis - 3]) {
      const y = cg.gather(x, ax, index);
      t.same(y.shape, ishape);
      assertClose(t, y.toArray(), src.map((j) => xv[j]), 0, 0, `gather axis ${ax}`);
      t.same(Array.from(cg.gather(xi, ax, index).toArray()), src.map((j) => xi.toArray()[j]), `gather int32 axis ${ax}`);
      const dv = uniform(size(ishape), 30 + axis, -1, 1);
      const g = new Float64Array(size(xshape));
      src.forEach((j, p) => (g[j] += dv[p]));
      assertClose(t, gatherBackward(f32(dv, ishape), index, ax, xshape).toArray(), g, 1e-6, 1e-6, `gather backward axis ${ax}`);
    }
  }
  // Embedding-like: big scatter with many repeats over threads, deterministic
  const table = [1000, 8];
  const iv = Int32Array.from(uniform(50000 * 8, 2, 0, 999.99), Math.floor);
  const index = cg.tensor(iv, { shape: [50000, 8] });
  const dout = f32(uniform(50000 * 8, 3, -1, 1), [50000, 8]);
  const g = gatherBackward(dout, index, 0, table);
  const want = new Float64Array(8000);
  const dv = dout.toArray();
  iv.forEach((v, p) => (want[v * 8 + (p % 8)] += dv[p]));
  assertClose(t, g.toArray(), want, 1e-4, 1e-5, 'big gather backward');
  t.same(cg.gather(cg.tensor(2.5), 0, cg.tensor(0, { dtype: 'int32' })).item(), 2.5, '0-d');
  t.same(cg.gather(x, 1, cg.zeros([4, 0, 6], { dtype: 'int32' })).shape, [4, 0, 6], 'empty index');
});

t.test('backward agrees with central finite differences', async (t) => {
  const shape = [2, 3, 4];
  const xv = uniform(24, 5, -1, 1);
  const check = (label: string, f: (x: cg.Tensor) => cg.Tensor, back: (d: cg.Tensor) => cg.Tensor) => {
    const oshape = f(f32(xv, shape)).shape as number[];
    const w = uniform(size(oshape), 6);
    const num = numericGrad((x) => dot(f(f32(x, shape)).toArray(), w), xv, 1e-2);
    assertClose(t, back(f32(w, oshape)).toArray(), num, 2e-3, 2e-2, `${label} analytic vs numeric`);
  };
  check('permute', (x) => cg.permute(x, [2, 0, 1]), (d) => permuteBackward(d, [2, 0, 1]));
  check('transpose', (x) => cg.transpose(x, 1, 2), (d) => cg.transpose(d, 1, 2));
  check('slice', (x) => cg.slice(x, 2, 1, -1), (d) => sliceBackward(d, shape, 2, 1, -1));
  const other = f32(uniform(8, 7), [2, 1, 4]);
  check('concat', (x) => cg.concat([other, x], 1), (d) => concatBackward(d, [1, 3], 1)[1]);
  const index = cg.tensor([[[0, 2, 2, 1]], [[1, 1, 0, 0]]], { dtype: 'int32' });
  check('gather', (x) => cg.gather(x, 1, index), (d) => gatherBackward(d, index, 1, shape));
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
