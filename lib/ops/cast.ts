// Dtype conversion: cudagrad.cast(x, dtype), x.cast(dtype), x.to(dtype) (as
// torch's x.to(dtype) and tf.cast). Conversions go through float32
// (native/ops/cast.h): float32 -> bfloat16 rounds to nearest even,
// bfloat16 -> float32 is exact, float -> int32 truncates toward zero
// (saturating; NaN -> 0). Between float32 and bfloat16 the gradient is cast
// back to the input's dtype; an int32 result carries no gradient.
import { record, willRecord } from '../autograd';
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

const isBf16 = (x: unknown): x is Tensor => x instanceof Tensor && x.dtype === 'bfloat16';

/** Whether any of `inputs` is a bfloat16 tensor. */
export function anyBf16(inputs: readonly unknown[]): boolean {
  return inputs.some(isBf16);
}

/**
 * Runs an op whose kernels are float32 on inputs that include bfloat16
 * tensors, as torch runs most bf16 ops: each bf16 input widened to float32
 * (exact), `run` on the widened inputs, and its float32 results rounded once
 * to bfloat16 when no input was float32 (torch's promotion: bf16 with bf16
 * gives bf16, bf16 with float32 gives float32); `narrow: false` keeps float32
 * results (comparison masks). Casts are recorded, so gradients flow (and come
 * back as bf16). Costs a widening and a rounding pass over the tensors: only
 * cast, attention and the copies (shape ops) read bf16 natively.
 */
export function viaFloat32<A extends readonly unknown[], T extends Tensor | Tensor[]>(inputs: A, run: (...widened: A) => T, opts: { narrow?: boolean } = {}): T {
  const recording = willRecord(inputs);
  const widened = inputs.map((x) => (isBf16(x) ? cast(x, 'float32') : x)) as unknown as A;
  const temps = widened.filter((w, i) => w !== inputs[i]) as Tensor[];
  let out: T;
  try {
    out = run(...widened);
  } finally {
    if (!recording) temps.forEach((t) => t.dispose());
  }
  const narrow = opts.narrow !== false && !inputs.some((x) => x instanceof Tensor && x.dtype === 'float32');
  if (!narrow) return out;
  const round = (t: Tensor): Tensor => {
    if (t.dtype !== 'float32') return t;
    const r = cast(t, 'bfloat16');
    if (!recording) t.dispose();
    return r;
  };
  return (Array.isArray(out) ? out.map(round) : round(out as Tensor)) as T;
}
