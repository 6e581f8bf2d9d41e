// Softmax and log-softmax over one axis (default the last; any axis works),
// with an optional causal mask for inputs whose last two dims are (Tq, Tk):
// element (i, j) is masked when j > i + (Tk - Tq) (bottom-right aligned, as
// attention). Masked entries give 0 (softmax) or -inf (log-softmax); a fully
// masked row (Tq > Tk) gives zeros for both. Backward functions take the
// forward's output: softmaxBackward(dout, out), logSoftmaxBackward(dout, out).
import { checkOptions, describe, typeError } from '../errors';
import { record } from '../autograd';
import type { NativeHandle } from '../native';
import { Tensor } from '../tensor';
import { arg, int, ops, wrap } from './util';
import { anyBf16, viaFloat32 } from './cast';

export interface SoftmaxOptions {
  /** Causal mask over the last two dims (Tq, Tk); needs the last axis. */
  causal?: boolean;
}

const nat = ops<{
  softmax(x: NativeHandle, axis: number, causal: boolean, log: boolean): NativeHandle;
  softmaxBackward(dout: NativeHandle, out: NativeHandle, axis: number, causal: boolean, log: boolean): NativeHandle;
}>();

// (axis, opts) or (opts): the axis (default -1) and the causal flag.
function parse(fn: string, axis: unknown, opts: unknown): { axis: number; causal: boolean } {
  if (axis !== null && typeof axis === 'object' && opts === undefined) {
    opts = axis;
    axis = undefined;
  }
  const a = axis === undefined ? -1 : int(fn, axis, 'axis');
  const o = checkOptions(fn, opts, ['causal']);
  if (o.causal !== undefined && typeof o.causal !== 'boolean') throw typeError(fn, `causal must be a boolean, got ${describe(o.causal)}`);
  return { axis: a, causal: o.causal === true };
}

/** exp(x) / sum(exp(x)) over `axis` (default -1), stable (max subtracted). */
export function softmax(x: Tensor, axis?: number | SoftmaxOptions, opts?: SoftmaxOptions): Tensor {
  if (anyBf16([x])) return viaFloat32([x] as const, (x2) => softmax(x2, axis, opts));
  const fn = 'cudagrad.softmax';
  const p = parse(fn, axis, opts);
  const out = wrap(nat.softmax(arg(fn, x, 'x'), p.axis, p.causal, false));
  return record('softmax', out, [x], ([g]) => [g && softmaxBackward(g, out, p.axis, { causal: p.causal })]);
}

/** x - log(sum(exp(x))) over `axis` (default -1). */
export function logSoftmax(x: Tensor, axis?: number | SoftmaxOptions, opts?: SoftmaxOptions): Tensor {
  if (anyBf16([x])) return viaFloat32([x] as const, (x2) => logSoftmax(x2, axis, opts));
  const fn = 'cudagrad.logSoftmax';
  const p = parse(fn, axis, opts);
  const out = wrap(nat.softmax(arg(fn, x, 'x'), p.axis, p.causal, true));
  return record('logSoftmax', out, [x], ([g]) => [g && logSoftmaxBackward(g, out, p.axis, { causal: p.causal })]);
}

/** dx = out * (dout - sum(dout * out)) over `axis`, from the softmax output `out`. */
export function softmaxBackward(dout: Tensor, out: Tensor, axis?: number | SoftmaxOptions, opts?: SoftmaxOptions): Tensor {
  const fn = 'cudagrad.softmax backward';
  const p = parse(fn, axis, opts);
  return wrap(nat.softmaxBackward(arg(fn, dout, 'dout'), arg(fn, out, 'out'), p.axis, p.causal, false));
}

/**
 * dx = dout - exp(out) * sum(dout) over `axis`, from the log-softmax output
 * `out`. With `causal`, masked entries get 0 and the sum skips them.
 */
export function logSoftmaxBackward(dout: Tensor, out: Tensor, axis?: number | SoftmaxOptions, opts?: SoftmaxOptions): Tensor {
  const fn = 'cudagrad.logSoftmax backward';
  const p = parse(fn, axis, opts);
  return wrap(nat.softmaxBackward(arg(fn, dout, 'dout'), arg(fn, out, 'out'), p.axis, p.causal, true));
}

declare module '../tensor' {
  interface Tensor {
    softmax(axis?: number | SoftmaxOptions, opts?: SoftmaxOptions): Tensor;
    logSoftmax(axis?: number | SoftmaxOptions, opts?: SoftmaxOptions): Tensor;
  }
}

Tensor.prototype.softmax = function (this: Tensor, axis?: number | SoftmaxOptions, opts?: SoftmaxOptions) {
  return softmax(this, axis, opts);
};
Tensor.prototype.logSoftmax = function (this: Tensor, axis?: number | SoftmaxOptions, opts?: SoftmaxOptions) {
  return logSoftmax(this, axis, opts);
};
