// Shared glue for the op modules: argument checks that belong in JS (is it a
// tensor, is it alive, is a number a number) and access to the native op
// exports. Shape, dtype and device rules are checked once, natively, in the
// dispatch layer, whose errors name the op and the shapes.
import { describe, typeError } from '../errors';
import { native, NativeHandle } from '../native';
import { Tensor } from '../tensor';

/** The native handle of tensor argument `name` of `fn`. */
export function arg(fn: string, t: unknown, name: string): NativeHandle {
  if (!(t instanceof Tensor)) throw typeError(fn, `${name} must be a Tensor, got ${describe(t)}`);
  return t.handle(fn);
}

/** A finite number argument. */
export function num(fn: string, v: unknown, name: string): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw typeError(fn, `${name} must be a number, got ${describe(v)}`);
  return v;
}

/** An integer argument (axis, index, size). */
export function int(fn: string, v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError(fn, `${name} must be an integer, got ${describe(v)}`);
  return v;
}

export function wrap(h: NativeHandle): Tensor {
  return new Tensor(h);
}

/** The native addon's op exports, typed by each op module for what it uses. */
export function ops<T>(): T {
  return native as unknown as T;
}
