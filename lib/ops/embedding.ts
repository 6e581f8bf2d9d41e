// Embedding lookup: idx int32 of any shape, weight (V, C) -> (...idx.shape, C).
// Indices outside [0, V) are a RangeError naming the value and its position.
// embeddingBackward scatter-adds dout rows into a zeroed dweight (V, C),
// deterministically (no atomics; each element sums its rows in token order).
import { record } from '../autograd';
import type { NativeHandle } from '../native';
import { Tensor } from '../tensor';
import { arg, int, ops, wrap } from './util';
import { anyBf16, viaFloat32 } from './cast';

type H = NativeHandle;
const nat = ops<{
  embedding(idx: H, weight: H): H;
  embeddingBackward(dout: H, idx: H, V: number): H;
}>();

/** Rows of `weight` (V, C) picked by the int32 indices `idx`. */
export function embedding(idx: Tensor, weight: Tensor): Tensor {
  if (anyBf16([weight])) return viaFloat32([weight] as const, (w2) => embedding(idx, w2));
  const fn = 'cudagrad.embedding';
  const out = wrap(nat.embedding(arg(fn, idx, 'idx'), arg(fn, weight, 'weight')));
  const V = weight.shape[0];
  return record('embedding', out, [weight], ([g]) => [g && embeddingBackward(g, idx, V)]);
}

/** dweight (V, C): the sum of the dout rows (...idx.shape, C) that picked each row. */
export function embeddingBackward(dout: Tensor, idx: Tensor, V: number): Tensor {
  const fn = 'cudagrad.embedding backward';
  return wrap(nat.embeddingBackward(arg(fn, dout, 'dout'), arg(fn, idx, 'idx'), int(fn, V, 'V')));
}
