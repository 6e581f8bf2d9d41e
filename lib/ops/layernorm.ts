// LayerNorm over the last axis: out = (x - mean) / sqrt(var + eps) * weight + bias,
// weight and bias (C) or null. layerNormForward also returns the saved
// statistics (mean, rstd: the input's shape without the last dim) that
// layerNormBackward takes.
import { record } from '../autograd';
import type { NativeHandle } from '../native';
import { Tensor } from '../tensor';
import { arg, num, ops, wrap } from './util';
import { anyBf16, viaFloat32 } from './cast';

export interface LayerNormForward {
  out: Tensor;
  /** Row means, shape x.shape[:-1]. */
  mean: Tensor;
  /** Row 1 / sqrt(var + eps) (biased variance), shape x.shape[:-1]. */
  rstd: Tensor;
}

export interface LayerNormGrads {
  dx: Tensor;
  /** sum over rows of dout * normalised x (computed even when weight is null). */
  dweight: Tensor;
  /** sum over rows of dout. */
  dbias: Tensor;
}

type H = NativeHandle;
const nat = ops<{
  layerNorm(x: H, weight: H | null, bias: H | null, eps: number): { out: H; mean: H; rstd: H };
  layerNormBackward(dout: H, x: H, weight: H | null, mean: H, rstd: H): { dx: H; dweight: H; dbias: H };
}>();

function optional(fn: string, t: unknown, name: string): H | null {
  return t === null || t === undefined ? null : arg(fn, t, name);
}

/** LayerNorm forward with the statistics backward needs. */
export function layerNormForward(x: Tensor, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): LayerNormForward {
  const fn = 'cudagrad.layerNorm';
  const r = nat.layerNorm(arg(fn, x, 'x'), optional(fn, weight, 'weight'), optional(fn, bias, 'bias'), num(fn, eps, 'eps'));
  return { out: wrap(r.out), mean: wrap(r.mean), rstd: wrap(r.rstd) };
}

/** LayerNorm over the last axis of `x` (..., C); weight, bias (C) or null. */
export function layerNorm(x: Tensor, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  if (anyBf16([x, weight, bias])) return viaFloat32([x, weight, bias] as const, (x2, w2, b2) => layerNorm(x2, w2, b2, eps));
  const { out, mean, rstd } = layerNormForward(x, weight, bias, eps);
  const recorded = record('layerNorm', out, [x, weight, bias], ([g]) => {
    if (!g) return [];
    const r = layerNormBackward(g, x, weight, mean, rstd);
    return [r.dx, r.dweight, r.dbias];
  });
  if (!recorded.gradNode) {
    mean.dispose();
    rstd.dispose();
  }
  return recorded;
}

/** Gradients of LayerNorm from dout, the input, weight (or null) and the forward's mean, rstd. */
export function layerNormBackward(dout: Tensor, x: Tensor, weight: Tensor | null, mean: Tensor, rstd: Tensor): LayerNormGrads {
  const fn = 'cudagrad.layerNorm backward';
  const g = nat.layerNormBackward(arg(fn, dout, 'dout'), arg(fn, x, 'x'), optional(fn, weight, 'weight'), arg(fn, mean, 'mean'), arg(fn, rstd, 'rstd'));
  return { dx: wrap(g.dx), dweight: wrap(g.dweight), dbias: wrap(g.dbias) };
}

declare module '../tensor' {
  interface Tensor {
    layerNorm(weight?: Tensor | null, bias?: Tensor | null, eps?: number): Tensor;
  }
}

Tensor.prototype.layerNorm = function (this: Tensor, weight?: Tensor | null, bias?: Tensor | null, eps?: number) {
  return layerNorm(this, weight ?? null, bias ?? null, eps);
};
