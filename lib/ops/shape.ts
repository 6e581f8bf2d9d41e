// Shape ops with contiguous outputs (float32, int32 or bfloat16; exact copies):
// transpose, permute, slice (Python slicing along one axis), concat, split,
// gather (torch.gather); and their gradients, of the gradient's dtype (float32
// or bfloat16): permute -> inverse permute, slice -> zeros with dout placed
// back, concat -> split, gather -> scatter-add into zeros (bfloat16 summed in
// float32, rounded once).
import { zeros } from '../creation';
import { describe, typeError } from '../errors';
import { record } from '../autograd';
import type { NativeHandle } from '../native';
import { Tensor } from '../tensor';
import { arg, int, ops, wrap } from './util';

const nat = ops<{
  permute(x: NativeHandle, dims: number[]): NativeHandle;
  transpose(x: NativeHandle, dim0: number, dim1: number): NativeHandle;
  slice(x: NativeHandle, axis: number, start: number, end: number | null): NativeHandle;
  sliceBackward(dout: NativeHandle, shape: number[], axis: number, start: number, end: number | null): NativeHandle;
  concat(xs: NativeHandle[], axis: number): NativeHandle;
  split(x: NativeHandle, sizes: number[], axis: number): NativeHandle[];
  gather(x: NativeHandle, axis: number, index: NativeHandle): NativeHandle;
  gatherBackward(dout: NativeHandle, index: NativeHandle, axis: number, shape: number[]): NativeHandle;
}>();

function ints(fn: string, v: unknown, name: string): number[] {
  if (!Array.isArray(v)) throw typeError(fn, `${name} must be an array of integers, got ${describe(v)}`);
  return v.map((d, i) => int(fn, d, `${name}[${i}]`));
}

function optInt(fn: string, v: unknown, name: string): number | null {
  return v === undefined || v === null ? null : int(fn, v, name);
}

/** x with dims dim0 and dim1 swapped (a contiguous copy). */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const fn = 'cudagrad.transpose';
  const h = arg(fn, x, 'x');
  const out = wrap(nat.transpose(h, int(fn, dim0, 'dim0'), int(fn, dim1, 'dim1')));
  return record('transpose', out, [x], ([g]) => [g && transpose(g, dim0, dim1)]);
}

/** x with its dims reordered: output dim k is input dim dims[k] (a contiguous copy). */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const fn = 'cudagrad.permute';
  const h = arg(fn, x, 'x');
  const out = wrap(nat.permute(h, ints(fn, dims, 'dims')));
  return record('permute', out, [x], ([g]) => [g && permuteBackward(g, dims)]);
}

/** dL/dx of permute(x, dims): dout permuted by the inverse permutation. */
export function permuteBackward(dout: Tensor, dims: readonly number[]): Tensor {
  const fn = 'cudagrad.permute backward';
  const h = arg(fn, dout, 'dout');
  const d = ints(fn, dims, 'dims');
  const n = d.length;
  const inv = new Array<number>(n).fill(-1);
  d.forEach((v, k) => {
    const a = v < 0 ? v + n : v;
    if (a >= 0 && a < n) inv[a] = k;
  });
  // An invalid permutation is passed on as is: the native check names it.
  return wrap(nat.permute(h, inv.includes(-1) ? d : inv));
}

/** x[..., start:end, ...] along `axis`, as Python slicing (negative from the end, clamped). */
export function slice(x: Tensor, axis: number, start: number, end?: number | null): Tensor {
  const fn = 'cudagrad.slice';
  const h = arg(fn, x, 'x');
  const out = wrap(nat.slice(h, int(fn, axis, 'axis'), int(fn, start, 'start'), optInt(fn, end, 'end')));
  const inShape = x.shape;
  return record('slice', out, [x], ([g]) => [g && sliceBackward(g, inShape, axis, start, end)]);
}

/** dL/dx of slice(x, axis, start, end) for x of `inputShape`: zeros with dout in the slice. */
export function sliceBackward(dout: Tensor, inputShape: readonly number[], axis: number, start: number, end?: number | null): Tensor {
  const fn = 'cudagrad.slice backward';
  const h = arg(fn, dout, 'dout');
  return wrap(nat.sliceBackward(h, ints(fn, inputShape, 'inputShape'), int(fn, axis, 'axis'), int(fn, start, 'start'), optInt(fn, end, 'end')));
}

/** The tensors joined along `axis` (same dtype; shapes equal except along axis). */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  const fn = 'cudagrad.concat';
  if (!Array.isArray(tensors)) throw typeError(fn, `tensors must be an array of Tensors, got ${describe(tensors)}`);
  const hs = tensors.map((t, i) => arg(fn, t, `tensors[${i}]`));
  const out = wrap(nat.concat(hs, int(fn, axis, 'axis')));
  const ax = axis < 0 ? axis + out.ndim : axis;
  return record('concat', out, tensors, ([g]) => (g ? concatBackward(g, tensors.map((t) => t.shape[ax]), ax) : []));
}

/** Pieces of x along `axis` of the given sizes (which must add up to the axis size). */
export function split(x: Tensor, sizes: readonly number[], axis = 0): Tensor[] {
  const fn = 'cudagrad.split';
  const h = arg(fn, x, 'x');
  const outs = nat.split(h, ints(fn, sizes, 'sizes'), int(fn, axis, 'axis')).map(wrap);
  // Pieces that got no gradient contribute zeros, of the other pieces' gradient dtype.
  return record('split', outs, [x], (gs) => {
    const dtype = gs.find((g) => g)?.dtype ?? x.dtype;
    return [concat(gs.map((g, i) => g ?? zeros(outs[i].shape, { device: x.device, dtype })), axis)];
  });
}

/** dL/d(inputs) of concat(inputs, axis): dout split into pieces of the inputs' sizes along axis. */
export function concatBackward(dout: Tensor, sizes: readonly number[], axis = 0): Tensor[] {
  return split(dout, sizes, axis);
}

/** torch.gather: out has index's shape; out[i][j] = x[index[i][j]][j] for axis 0. index: int32, x's rank. */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  const fn = 'cudagrad.gather';
  const h = arg(fn, x, 'x');
  const out = wrap(nat.gather(h, int(fn, axis, 'axis'), arg(fn, index, 'index')));
  const inShape = x.shape;
  return record('gather', out, [x], ([g]) => [g && gatherBackward(g, index, axis, inShape)]);
}

/** dL/dx of gather(x, axis, index) for x of `inputShape`: dout scatter-added into zeros. */
export function gatherBackward(dout: Tensor, index: Tensor, axis: number, inputShape: readonly number[]): Tensor {
  const fn = 'cudagrad.gather backward';
  const hd = arg(fn, dout, 'dout');
  const hi = arg(fn, index, 'index');
  return wrap(nat.gatherBackward(hd, hi, int(fn, axis, 'axis'), ints(fn, inputShape, 'inputShape')));
}

declare module '../tensor' {
  interface Tensor {
    transpose(dim0: number, dim1: number): Tensor;
    /** permute(0, 2, 1) or permute([0, 2, 1]) */
    permute(...dims: (number | readonly number[])[]): Tensor;
    slice(axis: number, start: number, end?: number | null): Tensor;
    /** gather(axis, index), as torch.gather(self, axis, index) */
    gather(axis: number, index: Tensor): Tensor;
  }
}

Tensor.prototype.transpose = function (this: Tensor, dim0: number, dim1: number) {
  return transpose(this, dim0, dim1);
};
Tensor.prototype.permute = function (this: Tensor, ...dims: (number | readonly number[])[]) {
  return permute(this, (dims.length === 1 && Array.isArray(dims[0]) ? dims[0] : dims) as number[]);
};
Tensor.prototype.slice = function (this: Tensor, axis: number, start: number, end?: number | null) {
  return slice(this, axis, start, end);
};
Tensor.prototype.gather = function (this: Tensor, axis: number, index: Tensor) {
  return gather(this, axis, index);
};
