// Elementwise ops: add, sub, mul, div, pow with NumPy/PyTorch broadcasting
// (the second operand may be a number), neg, exp, log, sqrt, clamp; and their
// gradients (binaryBackward sums each gradient back to its operand's shape).
import { checkOptions, describe, typeError } from '../errors';
import { record } from '../autograd';
import type { NativeHandle } from '../native';
import { Tensor } from '../tensor';
import { arg, ops, wrap } from './util';
import { anyBf16, viaFloat32 } from './cast';

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow';
export type UnaryOp = 'neg' | 'exp' | 'log' | 'sqrt';

export interface ClampOptions {
  /** Lower bound (none: unbounded below). */
  min?: number | null;
  /** Upper bound (none: unbounded above). */
  max?: number | null;
}

const nat = ops<{
  binary(op: BinaryOp, a: NativeHandle, b: NativeHandle): NativeHandle;
  binaryScalar(op: BinaryOp, a: NativeHandle, s: number): NativeHandle;
  binaryBackward(op: BinaryOp, dout: NativeHandle, a: NativeHandle, b: NativeHandle): [NativeHandle, NativeHandle];
  binaryScalarBackward(op: BinaryOp, dout: NativeHandle, a: NativeHandle, s: number): NativeHandle;
  unary(op: UnaryOp, x: NativeHandle): NativeHandle;
  unaryBackward(op: UnaryOp, dout: NativeHandle, x: NativeHandle, out: NativeHandle | null): NativeHandle;
  clamp(x: NativeHandle, min: number | null, max: number | null): NativeHandle;
  clampBackward(dout: NativeHandle, x: NativeHandle, min: number | null, max: number | null): NativeHandle;
}>();

const second = (op: BinaryOp) => (op === 'pow' ? 'exponent' : 'b');

function checkOperand(fn: string, b: unknown, name: string): void {
  if (typeof b !== 'number' && !(b instanceof Tensor)) throw typeError(fn, `${name} must be a Tensor or a number, got ${describe(b)}`);
}

function binary(op: BinaryOp, a: Tensor, b: Tensor | number): Tensor {
  if (anyBf16([a, b])) return viaFloat32([a, b] as const, (a2, b2) => binary(op, a2, b2));
  const fn = `cudagrad.${op}`;
  const ha = arg(fn, a, 'a');
  checkOperand(fn, b, second(op));
  const out = typeof b === 'number' ? wrap(nat.binaryScalar(op, ha, b)) : wrap(nat.binary(op, ha, arg(fn, b, second(op))));
  return record(op, out, [a, b], ([g]) => {
    if (!g) return [];
    const r = binaryBackward(op, g, a, b);
    return [r.da, r.db];
  });
}

/** a + b, broadcast. */
export const add = (a: Tensor, b: Tensor | number): Tensor => binary('add', a, b);
/** a - b, broadcast. */
export const sub = (a: Tensor, b: Tensor | number): Tensor => binary('sub', a, b);
/** a * b, broadcast. */
export const mul = (a: Tensor, b: Tensor | number): Tensor => binary('mul', a, b);
/** a / b, broadcast. */
export const div = (a: Tensor, b: Tensor | number): Tensor => binary('div', a, b);
/** x ** exponent, broadcast (exponent a number or a tensor). */
export const pow = (x: Tensor, exponent: Tensor | number): Tensor => binary('pow', x, exponent);

/**
 * Gradients of `op(a, b)` given dout (the broadcast output's shape): da has a's
 * shape, db b's (summed over the broadcast dims); db is absent when b is a number.
 */
export function binaryBackward(op: BinaryOp, dout: Tensor, a: Tensor, b: Tensor | number): { da: Tensor; db?: Tensor } {
  const fn = `cudagrad.${op} backward`;
  const hd = arg(fn, dout, 'dout');
  const ha = arg(fn, a, 'a');
  checkOperand(fn, b, second(op));
  if (typeof b === 'number') return { da: wrap(nat.binaryScalarBackward(op, hd, ha, b)) };
  const [da, db] = nat.binaryBackward(op, hd, ha, arg(fn, b, second(op)));
  return { da: wrap(da), db: wrap(db) };
}

function unary(op: UnaryOp, x: Tensor): Tensor {
  if (anyBf16([x])) return viaFloat32([x] as const, (x2) => unary(op, x2));
  const out = wrap(nat.unary(op, arg(`cudagrad.${op}`, x, 'x')));
  // exp and sqrt reuse their output in backward.
  return record(op, out, [x], ([g]) => [g && unaryBackward(op, g, x, op === 'exp' || op === 'sqrt' ? out : undefined)]);
}

export const neg = (x: Tensor): Tensor => unary('neg', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
/** Natural logarithm (log(0) = -inf, log(x < 0) = NaN). */
export const log = (x: Tensor): Tensor => unary('log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);

/** dL/dx = dout * f'(x); `out` = f(x) from the forward pass saves recomputing exp and sqrt. */
export function unaryBackward(op: UnaryOp, dout: Tensor, x: Tensor, out?: Tensor): Tensor {
  const fn = `cudagrad.${op} backward`;
  const ho = out === undefined ? null : arg(fn, out, 'out');
  return wrap(nat.unaryBackward(op, arg(fn, dout, 'dout'), arg(fn, x, 'x'), ho));
}

function bounds(fn: string, opts: unknown): [number | null, number | null] {
  const o = checkOptions(fn, opts, ['min', 'max']);
  const get = (k: 'min' | 'max') => {
    const v = o[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number') throw typeError(fn, `${k} must be a number, got ${describe(v)}`);
    return v;
  };
  return [get('min'), get('max')];
}

/** min(max(x, min), max); one bound may be omitted. NaN stays NaN. */
export function clamp(x: Tensor, opts: ClampOptions): Tensor {
  if (anyBf16([x])) return viaFloat32([x] as const, (x2) => clamp(x2, opts));
  const fn = 'cudagrad.clamp';
  const h = arg(fn, x, 'x');
  const out = wrap(nat.clamp(h, ...bounds(fn, opts)));
  return record('clamp', out, [x], ([g]) => [g && clampBackward(g, x, opts)]);
}

/** dout where min <= x <= max (bounds included, as PyTorch), else 0. */
export function clampBackward(dout: Tensor, x: Tensor, opts: ClampOptions): Tensor {
  const fn = 'cudagrad.clamp backward';
  const hd = arg(fn, dout, 'dout');
  return wrap(nat.clampBackward(hd, arg(fn, x, 'x'), ...bounds(fn, opts)));
}

declare module '../tensor' {
  interface Tensor {
    add(b: Tensor | number): Tensor;
    sub(b: Tensor | number): Tensor;
    mul(b: Tensor | number): Tensor;
    div(b: Tensor | number): Tensor;
    pow(exponent: Tensor | number): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    clamp(opts: ClampOptions): Tensor;
  }
}

Tensor.prototype.add = function (this: Tensor, b: Tensor | number) {
  return add(this, b);
};
Tensor.prototype.sub = function (this: Tensor, b: Tensor | number) {
  return sub(this, b);
};
Tensor.prototype.mul = function (this: Tensor, b: Tensor | number) {
  return mul(this, b);
};
Tensor.prototype.div = function (this: Tensor, b: Tensor | number) {
  return div(this, b);
};
Tensor.prototype.pow = function (this: Tensor, exponent: Tensor | number) {
  return pow(this, exponent);
};
Tensor.prototype.neg = function (this: Tensor) {
  return neg(this);
};
Tensor.prototype.exp = function (this: Tensor) {
  return exp(this);
};
Tensor.prototype.log = function (this: Tensor) {
  return log(this);
};
Tensor.prototype.sqrt = function (this: Tensor) {
  return sqrt(this);
};
Tensor.prototype.clamp = function (this: Tensor, opts: ClampOptions) {
  return clamp(this, opts);
};
