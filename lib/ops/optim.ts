// Fused optimizer updates, one pass over each parameter, writing the
// parameter and its state tensors in place (grad is only read), with torch
// 1.13's update rules: sgdStep (torch.optim.SGD), adamStep (torch.optim.Adam:
// L2 weight decay added to the gradient), adamwStep (torch.optim.AdamW:
// decoupled weight decay). Also the global gradient L2 norm (float64
// accumulation) and clipGradNorm (torch.nn.utils.clip_grad_norm_, L2).
import { checkOptions, describe, typeError } from '../errors';
import type { NativeHandle } from '../native';
import { Tensor } from '../tensor';
import { arg, num, ops } from './util';

export interface SgdOptions {
  lr: number;
  /** default 0: plain SGD (no buffer needed). */
  momentum?: number;
  /** default 0. */
  dampening?: number;
  /** default false; needs momentum > 0 and dampening 0. */
  nesterov?: boolean;
  /** L2 penalty added to the gradient, default 0. */
  weightDecay?: number;
  /**
   * True on the parameter's first step: the buffer becomes the gradient (torch
   * creates it as a clone), ignoring its old contents and dampening. Default
   * false: buf = momentum * buf + (1 - dampening) * g (a zeroed buffer with
   * dampening 0 gives the same first step).
   */
  firstStep?: boolean;
}

export interface AdamOptions {
  /** default 1e-3. */
  lr?: number;
  /** default 0.9. */
  beta1?: number;
  /** default 0.999. */
  beta2?: number;
  /** default 1e-8. */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 1e-2). */
  weightDecay?: number;
  /** The step count including this update (1 on the first), for the bias corrections. */
  step: number;
}

type H = NativeHandle;
const nat = ops<{
  sgdStep(p: H, g: H, buf: H | null, lr: number, momentum: number, dampening: number, wd: number, nesterov: boolean, first: boolean): void;
  adamStep(p: H, g: H, m: H, v: H, lr: number, b1: number, b2: number, eps: number, wd: number, step: number, decoupled: boolean): void;
  adamStepMulti(p: H[], g: H[], m: H[], v: H[], steps: number[], wds: number[], lr: number, b1: number, b2: number, eps: number, decoupled: boolean, clip: number | null): void;
  gradNorm(ts: H[]): number;
  clipGradNorm(ts: H[], maxNorm: number, read: boolean): number;
}>();

function bool(fn: string, v: unknown, name: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw typeError(fn, `${name} must be a boolean, got ${describe(v)}`);
  return v;
}

const numOr = (fn: string, v: unknown, name: string, dflt: number) => (v === undefined ? dflt : num(fn, v, name));

/** One SGD update of `param` in place (and of `momentumBuf`, when momentum != 0). */
export function sgdStep(param: Tensor, grad: Tensor, momentumBuf: Tensor | null, opts: SgdOptions): void {
  const fn = 'cudagrad.sgdStep';
  const o = checkOptions(fn, opts, ['lr', 'momentum', 'dampening', 'nesterov', 'weightDecay', 'firstStep']);
  const buf = momentumBuf === null || momentumBuf === undefined ? null : arg(fn, momentumBuf, 'momentumBuf');
  nat.sgdStep(
    arg(fn, param, 'param'),
    arg(fn, grad, 'grad'),
    buf,
    num(fn, o.lr, 'lr'),
    numOr(fn, o.momentum, 'momentum', 0),
    numOr(fn, o.dampening, 'dampening', 0),
    numOr(fn, o.weightDecay, 'weightDecay', 0),
    bool(fn, o.nesterov, 'nesterov'),
    bool(fn, o.firstStep, 'firstStep'),
  );
}

function adam(fn: string, decoupled: boolean, param: Tensor, grad: Tensor, m: Tensor, v: Tensor, opts: AdamOptions): void {
  const o = checkOptions(fn, opts, ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'step']);
  nat.adamStep(
    arg(fn, param, 'param'),
    arg(fn, grad, 'grad'),
    arg(fn, m, 'm'),
    arg(fn, v, 'v'),
    numOr(fn, o.lr, 'lr', 1e-3),
    numOr(fn, o.beta1, 'beta1', 0.9),
    numOr(fn, o.beta2, 'beta2', 0.999),
    numOr(fn, o.eps, 'eps', 1e-8),
    numOr(fn, o.weightDecay, 'weightDecay', decoupled ? 1e-2 : 0),
    num(fn, o.step, 'step'),
    decoupled,
  );
}

/** One Adam update of param, m (first moment) and v (second moment), in place. */
export function adamStep(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, opts: AdamOptions): void {
  adam('cudagrad.adamStep', false, param, grad, m, v, opts);
}

/** One AdamW update (decoupled weight decay, default 1e-2) of param, m and v, in place. */
export function adamwStep(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, opts: AdamOptions): void {
  adam('cudagrad.adamwStep', true, param, grad, m, v, opts);
}

/** One parameter of adamStepMulti: its tensors, step count (after this update) and weight decay. */
export interface AdamMultiItem {
  param: Tensor;
  grad: Tensor;
  m: Tensor;
  v: Tensor;
  step: number;
  weightDecay: number;
}

/**
 * @internal Adam (AdamW when decoupled) over many parameters in one native
 * call (one launch per 24 tensors on CUDA). clipNorm: clip the gradients by
 * their global norm first, as clipGradNorm would, but fused into the update
 * (the gradients themselves are not modified). What optim.Adam / AdamW run.
 */
export function adamStepMulti(items: AdamMultiItem[], o: { lr: number; beta1: number; beta2: number; eps: number }, decoupled: boolean, clipNorm: number | null): void {
  const fn = decoupled ? 'cudagrad.adamwStep' : 'cudagrad.adamStep';
  nat.adamStepMulti(
    items.map((it, i) => arg(fn, it.param, `params[${i}]`)),
    items.map((it, i) => arg(fn, it.grad, `grads[${i}]`)),
    items.map((it, i) => arg(fn, it.m, `m[${i}]`)),
    items.map((it, i) => arg(fn, it.v, `v[${i}]`)),
    items.map((it) => it.step),
    items.map((it) => it.weightDecay),
    o.lr,
    o.beta1,
    o.beta2,
    o.eps,
    decoupled,
    clipNorm,
  );
}

function handles(fn: string, tensors: unknown): H[] {
  if (!Array.isArray(tensors)) throw typeError(fn, `tensors must be an array of tensors, got ${describe(tensors)}`);
  return tensors.map((t, i) => arg(fn, t, `tensors[${i}]`));
}

/** sqrt(sum of squares over all the tensors), accumulated in float64. */
export function gradNorm(tensors: Tensor[]): number {
  const fn = 'cudagrad.gradNorm';
  return nat.gradNorm(handles(fn, tensors));
}

/**
 * Scales the tensors in place by maxNorm / (norm + 1e-6) when that is below 1
 * (torch.nn.utils.clip_grad_norm_); returns the norm before clipping.
 * `returnNorm: false` skips reading the norm back (on CUDA: no host sync, the
 * factor is computed and applied on the device) and returns NaN.
 */
export function clipGradNorm(tensors: Tensor[], maxNorm: number, opts: { returnNorm?: boolean } = {}): number {
  const fn = 'cudagrad.clipGradNorm';
  return nat.clipGradNorm(handles(fn, tensors), num(fn, maxNorm, 'maxNorm'), opts.returnNorm !== false);
}
