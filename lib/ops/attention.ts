// Fused scaled-dot-product attention (flash-style on the CPU and on CUDA:
// tiled with an online softmax; the Tq x Tk score matrix is never
// materialised). On CUDA the matmul precision applies: 'highest' computes in
// float32, 'high' / 'medium' use TF32 / bf16 tensor cores (sm_80+) for the
// products, with float32 softmax statistics; results are deterministic.
//   q (B, H, Tq, D), k and v (B, H, Tk, D), float32 -> out (B, H, Tq, D)
//   out = softmax(q k^T / sqrt(D) + mask) v
// bfloat16 q, k, v (all three) give a bfloat16 out and bfloat16 gradients,
// with float32 softmax statistics and accumulation, each result rounded
// once (as torch's SDPA on bf16 inputs); on CUDA (sm_80+, D <= 128) the
// tensor-core kernels read and write bf16 directly, with the bf16 mma
// whatever the matmul precision. lse is float32 either way.
// Options:
//   causal  bottom-right aligned (as FlashAttention 2): query i sees key j iff
//           j <= i + (Tk - Tq); the usual lower triangle when Tq == Tk.
//   mask    key-padding mask (B, Tk): float32 is added to the scores (0 or
//           negative, -Infinity excludes a key); int32 is boolean (nonzero =
//           attend, 0 = excluded).
// A query row whose keys are all excluded (mask, causality or Tk = 0) gets
// zeros in out, lse = +Infinity, and zero gradients: never NaN. Keys the mask
// excludes are ignored even if their k, v rows hold NaN (unwritten cache
// slots); other NaN inputs give NaN as the unfused composition does.
import { checkOptions, describe, typeError } from '../errors';
import { record } from '../autograd';
import type { NativeHandle } from '../native';
import { Tensor } from '../tensor';
import { arg, ops, wrap } from './util';

export interface AttentionOptions {
  /** Bottom-right aligned causal masking (default false). */
  causal?: boolean;
  /** Key-padding mask (B, Tk): float32 additive or int32 boolean. */
  mask?: Tensor | null;
}

const nat = ops<{
  attentionForward(q: NativeHandle, k: NativeHandle, v: NativeHandle, mask: NativeHandle | null, causal: boolean): [NativeHandle, NativeHandle];
  attentionBackward(
    dout: NativeHandle,
    q: NativeHandle,
    k: NativeHandle,
    v: NativeHandle,
    out: NativeHandle,
    lse: NativeHandle,
    mask: NativeHandle | null,
    causal: boolean,
  ): [NativeHandle, NativeHandle, NativeHandle];
}>();

function options(fn: string, opts: unknown): { causal: boolean; mask: NativeHandle | null } {
  const o = checkOptions(fn, opts, ['causal', 'mask']);
  if (o.causal !== undefined && typeof o.causal !== 'boolean') throw typeError(fn, `causal must be a boolean, got ${describe(o.causal)}`);
  const mask = o.mask === undefined || o.mask === null ? null : arg(fn, o.mask, 'mask');
  return { causal: o.causal === true, mask };
}

/** Forward that also returns the per-row log-sum-exp (B, H, Tq) the backward needs. */
export function attentionForward(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): { out: Tensor; lse: Tensor } {
  const fn = 'cudagrad.attention';
  const { causal, mask } = options(fn, opts);
  const [out, lse] = nat.attentionForward(arg(fn, q, 'q'), arg(fn, k, 'k'), arg(fn, v, 'v'), mask, causal);
  return { out: wrap(out), lse: wrap(lse) };
}

/** softmax(q k^T / sqrt(D) + mask) v, shape (B, H, Tq, D). */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const { out, lse } = attentionForward(q, k, v, opts);
  const recorded = record('attention', out, [q, k, v], ([g]) => {
    if (!g) return [];
    const r = attentionBackward(g, q, k, v, out, lse, opts);  // g has out's dtype (autograd checks)
    return [r.dq, r.dk, r.dv];
  });
  if (!recorded.gradNode) lse.dispose();
  return recorded;
}

/**
 * Gradients of attention given dL/dout, the inputs, and the forward's out and
 * lse (same options as the forward). Every element is written (no accumulation).
 */
export function attentionBackward(
  dout: Tensor,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  out: Tensor,
  lse: Tensor,
  opts: AttentionOptions = {},
): { dq: Tensor; dk: Tensor; dv: Tensor } {
  const fn = 'cudagrad.attention backward';
  const { causal, mask } = options(fn, opts);
  const [dq, dk, dv] = nat.attentionBackward(
    arg(fn, dout, 'dout'),
    arg(fn, q, 'q'),
    arg(fn, k, 'k'),
    arg(fn, v, 'v'),
    arg(fn, out, 'out'),
    arg(fn, lse, 'lse'),
    mask,
    causal,
  );
  return { dq: wrap(dq), dk: wrap(dk), dv: wrap(dv) };
}
