// Dtype conversion: cudagrad.cast(x, dtype), x.cast(dtype), x.to(dtype) (as
// torch's x.to(dtype) and tf.cast). Conversions go through float32
// (native/ops/cast.h): float32 -> bfloat16 rounds to nearest even,
// bfloat16 -> float32 is exact, float -> int32 truncates toward zero
// (saturating; NaN -> 0). Between float32 and bfloat16 the gradient is cast
// back to the input's dtype; an int32 result carries no gradient.
import { record } from '../autograd';
import { parseDType } from '../creation';
import type { NativeHandle } from '../native';
import { DType, Tensor } from '../tensor';
import { arg, ops, wrap } from './util';

const nat = ops<{ cast(x: NativeHandle, dtype: DType): NativeHandle }>();

/** x converted to `dtype`; the same dtype gives a new tensor sharing x's storage. */
export function cast(x: Tensor, dtype: DType): Tensor {
  const fn = 'cudagrad.cast';
  const h = arg(fn, x, 'x');
  const to = parseDType(fn, dtype);
  if (to === x.dtype) return x.to(x.device);
  const out = wrap(nat.cast(h, to));
  if (to === 'int32') return out;
  const from = x.dtype;
  return record('cast', out, [x], ([g]) => [g && cast(g, from)]);
}

declare module '../tensor' {
  interface Tensor {
    cast(dtype: DType): Tensor;
  }
}

Tensor.prototype.cast = function (this: Tensor, dtype: DType) {
  return cast(this, dtype);
};
