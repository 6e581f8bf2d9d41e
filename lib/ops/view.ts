// Copies and views under autograd: clone (a copy in new storage), and the
// gradient rules of Tensor.reshape and Tensor.to (to(dtype) is
// cudagrad.cast, lib/ops/cast.ts), installed over the plain
// versions of lib/tensor.ts (which cannot import autograd: it loads first).
import { record } from '../autograd';
import type { Device } from '../device';
import type { NativeHandle } from '../native';
import { DType, DTYPES, Tensor } from '../tensor';
import { arg, ops, wrap } from './util';

const nat = ops<{ clone(x: NativeHandle): NativeHandle }>();

/** A copy of x in new storage on the same device. */
export function clone(x: Tensor): Tensor {
  const out = wrap(nat.clone(arg('cudagrad.clone', x, 'x')));
  return record('clone', out, [x], ([g]) => [g && g.reshape(g.shape)]);
}

const plainReshape = Tensor.prototype.reshape;
const plainTo = Tensor.prototype.to;

Tensor.prototype.reshape = function (this: Tensor, ...shape: (number | readonly number[])[]) {
  const out = plainReshape.apply(this, shape);
  const inShape = this.shape;
  return record('reshape', out, [this], ([g]) => [g && g.reshape(inShape)]);
};

Tensor.prototype.to = function (this: Tensor, target: Device | DType) {
  if (DTYPES.includes(target as DType)) return this.cast(target as DType);
  const out = plainTo.call(this, target);
  const from = this.device;
  return record('to', out, [this], ([g]) => [g && plainTo.call(g, from)]);
};

declare module '../tensor' {
  interface Tensor {
    clone(): Tensor;
  }
}

Tensor.prototype.clone = function (this: Tensor) {
  return clone(this);
};
