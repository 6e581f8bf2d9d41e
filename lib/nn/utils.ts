// nn utilities: gradient clipping by global norm over a module's parameters
// (torch.nn.utils.clip_grad_norm_).
import { describe, typeError } from '../errors';
import { clipGradNorm as clipTensors, gradNorm } from '../ops/optim';
import { Tensor } from '../tensor';

/**
 * Scales the gradients of `params` in place so that their global L2 norm is at
 * most maxNorm (factor maxNorm / (norm + 1e-6) when below 1); parameters
 * without a gradient are skipped. Returns the norm before clipping.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, opts: { returnNorm?: boolean } = {}): number {
  const fn = 'nn.clipGradNorm';
  if (params === null || typeof params !== 'object' || !(Symbol.iterator in params)) throw typeError(fn, `params must be an array of tensors, got ${describe(params)}`);
  const grads: Tensor[] = [];
  let i = 0;
  for (const p of params) {
    if (!(p instanceof Tensor)) throw typeError(fn, `params[${i}] must be a Tensor, got ${describe(p)}`);
    if (p.grad) grads.push(p.grad);
    i++;
  }
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) throw typeError(fn, `maxNorm must be a number >= 0, got ${describe(maxNorm)}`);
  if (!grads.length) return 0;
  if (!Number.isFinite(maxNorm)) return opts.returnNorm === false ? NaN : gradNorm(grads);
  return clipTensors(grads, maxNorm, opts);
}
