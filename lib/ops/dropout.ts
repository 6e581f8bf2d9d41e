// Dropout with the Philox generator: each element is kept with probability
// 1 - p and kept values are scaled by 1 / (1 - p). Element i's decision comes
// from the Philox stream (seed, offset, i) exactly as cudagrad.rand draws its
// i-th uniform u_i: kept when u_i >= p (p as float32), so the CPU and CUDA
// versions agree bit for bit. No mask is stored: dropoutBackward regenerates it
// from the {seed, offset} that dropoutForward returns. With `seed`, the state is
// (seed, 0); otherwise the default generator's, advanced by one.
// p = 0 or training false: a copy; p = 1: zeros (no generator draw in either case).
import { checkOptions, describe, rangeError, typeError } from '../errors';
import { record } from '../autograd';
import type { NativeHandle } from '../native';
import { Tensor } from '../tensor';
import { arg, num, ops, wrap } from './util';
import { anyBf16, viaFloat32 } from './cast';

export interface DropoutOptions {
  /** Apply dropout (default true); false returns a copy. */
  training?: boolean;
  /** Seed for this call only: generator state (seed, 0). */
  seed?: number | bigint;
}

export interface DropoutForward {
  out: Tensor;
  /** The generator state the mask came from. */
  seed: bigint;
  offset: bigint;
}

type H = NativeHandle;

// A 64-bit unsigned generator word (seed or offset): a bigint or a safe integer.
function u64(fn: string, v: unknown, name: string): bigint {
  if (typeof v === 'bigint') {
    if (v < 0n || v >= 1n << 64n) throw rangeError(fn, `${name} ${v} must be in [0, 2^64)`);
    return v;
  }
  if (typeof v !== 'number') throw typeError(fn, `${name} must be a number or a bigint, got ${describe(v)}`);
  if (!Number.isSafeInteger(v) || v < 0) throw rangeError(fn, `${name} ${v} must be a non-negative integer`);
  return BigInt(v);
}
const nat = ops<{
  dropout(x: H, p: number, training: boolean, seed: bigint | null): { out: H; seed: bigint; offset: bigint };
  dropoutBackward(dout: H, p: number, seed: bigint, offset: bigint): H;
}>();

/** Dropout forward, with the generator state backward needs. */
export function dropoutForward(x: Tensor, p = 0.5, opts: DropoutOptions = {}): DropoutForward {
  const fn = 'cudagrad.dropout';
  const o = checkOptions(fn, opts, ['training', 'seed']);
  if (o.training !== undefined && typeof o.training !== 'boolean') throw typeError(fn, `training must be a boolean, got ${describe(o.training)}`);
  const seed = o.seed === undefined ? null : u64(fn, o.seed, 'seed');
  const r = nat.dropout(arg(fn, x, 'x'), num(fn, p, 'p'), o.training !== false, seed);
  return { out: wrap(r.out), seed: r.seed, offset: r.offset };
}

/** Zeroes each element with probability p and scales the rest by 1 / (1 - p). */
export function dropout(x: Tensor, p = 0.5, opts: DropoutOptions = {}): Tensor {
  if (anyBf16([x])) return viaFloat32([x] as const, (x2) => dropout(x2, p, opts));
  const r = dropoutForward(x, p, opts);
  // Not training: the identity, whose gradient dropoutBackward gives with p = 0.
  const pb = opts.training === false ? 0 : p;
  return record('dropout', r.out, [x], ([g]) => [g && dropoutBackward(g, pb, r.seed, r.offset)]);
}

/** dx = dout * mask / (1 - p), the mask regenerated from the forward's {seed, offset}. */
export function dropoutBackward(dout: Tensor, p: number, seed: number | bigint, offset: number | bigint): Tensor {
  const fn = 'cudagrad.dropout backward';
  const h = arg(fn, dout, 'dout');
  return wrap(nat.dropoutBackward(h, num(fn, p, 'p'), u64(fn, seed, 'seed'), u64(fn, offset, 'offset')));
}

declare module '../tensor' {
  interface Tensor {
    dropout(p?: number, opts?: DropoutOptions): Tensor;
  }
}

Tensor.prototype.dropout = function (this: Tensor, p?: number, opts?: DropoutOptions) {
  return dropout(this, p, opts);
};
