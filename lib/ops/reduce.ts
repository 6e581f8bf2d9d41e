// Reductions over one axis (negative counts from the end) or, with no axis,
// over all elements: sum, mean, max, argmax (int32, first maximal index, NaN
// counts as the maximum), with keepdim; and their gradients.
import { checkOptions, describe, typeError } from '../errors';
import { record } from '../autograd';
import type { NativeHandle } from '../native';
import { Tensor } from '../tensor';
import { arg, int, ops, wrap } from './util';
import { anyBf16, viaFloat32 } from './cast';

export type ReduceOp = 'sum' | 'mean' | 'max';

export interface ReduceOptions {
  /** Keep the reduced axis as size 1 (default false). */
  keepdim?: boolean;
}

const nat = ops<{
  reduce(op: ReduceOp, x: NativeHandle, axis: number | null, keepdim: boolean): NativeHandle;
  argmax(x: NativeHandle, axis: number | null, keepdim: boolean): NativeHandle;
  reduceBackward(op: ReduceOp, dout: NativeHandle, x: NativeHandle, axis: number | null, keepdim: boolean): NativeHandle;
}>();

function args(fn: string, axis: unknown, opts: unknown): [number | null, boolean] {
  const o = checkOptions(fn, opts, ['keepdim']);
  if (o.keepdim !== undefined && typeof o.keepdim !== 'boolean') throw typeError(fn, `keepdim must be a boolean, got ${describe(o.keepdim)}`);
  return [axis === undefined || axis === null ? null : int(fn, axis, 'axis'), o.keepdim === true];
}

function reduce(op: ReduceOp, x: Tensor, axis?: number | null, opts?: ReduceOptions): Tensor {
  if (anyBf16([x])) return viaFloat32([x] as const, (x2) => reduce(op, x2, axis, opts));
  const fn = `cudagrad.${op}`;
  const h = arg(fn, x, 'x');
  const out = wrap(nat.reduce(op, h, ...args(fn, axis, opts)));
  return record(op, out, [x], ([g]) => [g && reduceBackward(op, g, x, axis, opts)]);
}

/** Sum over `axis` (all elements when omitted). */
export const sum = (x: Tensor, axis?: number | null, opts?: ReduceOptions): Tensor => reduce('sum', x, axis, opts);
/** Mean over `axis` (all elements when omitted); NaN over an empty axis. */
export const mean = (x: Tensor, axis?: number | null, opts?: ReduceOptions): Tensor => reduce('mean', x, axis, opts);
/** Maximum over `axis` (all elements when omitted); NaN if any element is NaN. */
export const max = (x: Tensor, axis?: number | null, opts?: ReduceOptions): Tensor => reduce('max', x, axis, opts);

/** int32 index of the first maximum over `axis` (a flat index when omitted); NaN counts as the maximum. */
export function argmax(x: Tensor, axis?: number | null, opts?: ReduceOptions): Tensor {
  if (anyBf16([x])) return viaFloat32([x] as const, (x2) => argmax(x2, axis, opts));
  const fn = 'cudagrad.argmax';
  const h = arg(fn, x, 'x');
  return wrap(nat.argmax(h, ...args(fn, axis, opts)));
}

/**
 * dL/dx for `op(x, axis, opts)` given dout of the output's shape: sum and mean
 * spread dout back over the axis (mean divides by its length); max routes dout
 * to the first maximal element of x (PyTorch's max(dim) rule, also used for
 * the full reduction).
 */
export function reduceBackward(op: ReduceOp, dout: Tensor, x: Tensor, axis?: number | null, opts?: ReduceOptions): Tensor {
  const fn = `cudagrad.${op} backward`;
  const hd = arg(fn, dout, 'dout');
  const hx = arg(fn, x, 'x');
  return wrap(nat.reduceBackward(op, hd, hx, ...args(fn, axis, opts)));
}

declare module '../tensor' {
  interface Tensor {
    sum(axis?: number | null, opts?: ReduceOptions): Tensor;
    mean(axis?: number | null, opts?: ReduceOptions): Tensor;
    max(axis?: number | null, opts?: ReduceOptions): Tensor;
    argmax(axis?: number | null, opts?: ReduceOptions): Tensor;
  }
}

Tensor.prototype.sum = function (this: Tensor, axis?: number | null, opts?: ReduceOptions) {
  return sum(this, axis, opts);
};
Tensor.prototype.mean = function (this: Tensor, axis?: number | null, opts?: ReduceOptions) {
  return mean(this, axis, opts);
};
Tensor.prototype.max = function (this: Tensor, axis?: number | null, opts?: ReduceOptions) {
  return max(this, axis, opts);
};
Tensor.prototype.argmax = function (this: Tensor, axis?: number | null, opts?: ReduceOptions) {
  return argmax(this, axis, opts);
};
