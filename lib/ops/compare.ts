// Comparison ops eq, ne, lt, le, gt, ge as torch.eq etc.: NumPy broadcasting,
// both operands one dtype (float32 or int32) or the second a number; the result
// is a float32 tensor of 1 (true) / 0 (false), so that it can be summed or
// averaged (accuracy = mean(eq(argmax(logits, 1), labels))). NaN compares as
// IEEE: false for everything but ne. Not differentiable: nothing is recorded
// for autograd and the result never requires grad.
import { describe, typeError } from '../errors';
import type { NativeHandle } from '../native';
import { Tensor } from '../tensor';
import { arg, ops, wrap } from './util';
import { anyBf16, viaFloat32 } from './cast';

export type CompareOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

const nat = ops<{
  compare(op: CompareOp, a: NativeHandle, b: NativeHandle): NativeHandle;
  compareScalar(op: CompareOp, a: NativeHandle, s: number): NativeHandle;
}>();

function compare(op: CompareOp, a: Tensor, b: Tensor | number): Tensor {
  if (anyBf16([a, b])) return viaFloat32([a, b] as const, (a2, b2) => compare(op, a2, b2), { narrow: false });
  const fn = `cudagrad.${op}`;
  const ha = arg(fn, a, 'a');
  if (typeof b === 'number') return wrap(nat.compareScalar(op, ha, b));
  if (!(b instanceof Tensor)) throw typeError(fn, `b must be a Tensor or a number, got ${describe(b)}`);
  return wrap(nat.compare(op, ha, arg(fn, b, 'b')));
}

/** a == b elementwise, broadcast: float32 1 / 0. */
export const eq = (a: Tensor, b: Tensor | number): Tensor => compare('eq', a, b);
/** a != b elementwise, broadcast: float32 1 / 0 (NaN != anything is 1). */
export const ne = (a: Tensor, b: Tensor | number): Tensor => compare('ne', a, b);
/** a < b elementwise, broadcast: float32 1 / 0. */
export const lt = (a: Tensor, b: Tensor | number): Tensor => compare('lt', a, b);
/** a <= b elementwise, broadcast: float32 1 / 0. */
export const le = (a: Tensor, b: Tensor | number): Tensor => compare('le', a, b);
/** a > b elementwise, broadcast: float32 1 / 0. */
export const gt = (a: Tensor, b: Tensor | number): Tensor => compare('gt', a, b);
/** a >= b elementwise, broadcast: float32 1 / 0. */
export const ge = (a: Tensor, b: Tensor | number): Tensor => compare('ge', a, b);

declare module '../tensor' {
  interface Tensor {
    eq(b: Tensor | number): Tensor;
    ne(b: Tensor | number): Tensor;
    lt(b: Tensor | number): Tensor;
    le(b: Tensor | number): Tensor;
    gt(b: Tensor | number): Tensor;
    ge(b: Tensor | number): Tensor;
  }
}

Tensor.prototype.eq = function (this: Tensor, b: Tensor | number) {
  return eq(this, b);
};
Tensor.prototype.ne = function (this: Tensor, b: Tensor | number) {
  return ne(this, b);
};
Tensor.prototype.lt = function (this: Tensor, b: Tensor | number) {
  return lt(this, b);
};
Tensor.prototype.le = function (this: Tensor, b: Tensor | number) {
  return le(this, b);
};
Tensor.prototype.gt = function (this: Tensor, b: Tensor | number) {
  return gt(this, b);
};
Tensor.prototype.ge = function (this: Tensor, b: Tensor | number) {
  return ge(this, b);
};
