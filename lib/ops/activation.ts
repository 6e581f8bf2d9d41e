// Activations: relu, gelu (tanh approximation by default, as GPT-2; exact erf
// form with approximate: 'none', as PyTorch's default), tanh, sigmoid.
import { Tensor } from '../tensor';
import { arg, ops, wrap } from './util';
import { record } from '../autograd';
import type { NativeHandle } from '../native';
import { geluKind } from './activation-names';
import type { Activation, GeluOptions } from './activation-names';
import { anyBf16, viaFloat32 } from './cast';

export type { Activation, GeluOptions } from './activation-names';

const nat = ops<{
  activation(kind: Activation, x: NativeHandle): NativeHandle;
  activationBackward(kind: Activation, dout: NativeHandle, x: NativeHandle): NativeHandle;
}>();

/** The activation `kind` applied to x (recorded for autograd). */
export function activation(kind: Activation, x: Tensor): Tensor {
  if (anyBf16([x])) return viaFloat32([x] as const, (x2) => activation(kind, x2));
  const out = wrap(nat.activation(kind, arg(`cudagrad.${kind}`, x, 'x')));
  return record(kind, out, [x], ([g]) => [g && activationBackward(kind, g, x)]);
}

export const relu = (x: Tensor): Tensor => activation('relu', x);
/** GELU: tanh approximation by default; `{ approximate: 'none' }` for the exact (erf) form. */
export const gelu = (x: Tensor, opts?: GeluOptions): Tensor => activation(geluKind('cudagrad.gelu', opts), x);
export const tanh = (x: Tensor): Tensor => activation('tanh', x);
export const sigmoid = (x: Tensor): Tensor => activation('sigmoid', x);

/** dL/dx = dout * f'(x), for the activation `kind` applied to `x`. */
export function activationBackward(kind: Activation, dout: Tensor, x: Tensor): Tensor {
  const fn = `cudagrad.${kind} backward`;
  return wrap(nat.activationBackward(kind, arg(fn, dout, 'dout'), arg(fn, x, 'x')));
}

declare module '../tensor' {
  interface Tensor {
    relu(): Tensor;
    gelu(opts?: GeluOptions): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
  }
}

Tensor.prototype.relu = function (this: Tensor) {
  return relu(this);
};
Tensor.prototype.gelu = function (this: Tensor, opts?: GeluOptions) {
  return gelu(this, opts);
};
Tensor.prototype.tanh = function (this: Tensor) {
  return tanh(this);
};
Tensor.prototype.sigmoid = function (this: Tensor) {
  return sigmoid(this);
};
