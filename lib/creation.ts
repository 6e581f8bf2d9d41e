// Tensor creation: from data, constant fills, ranges and random tensors.
// Arguments are checked here first (errors name the function and the shapes);
// the native dispatch layer checks again.
import { defaultDevice, Device, parseDevice } from './device';
import { checkOptions, describe, rangeError, shapeStr, typeError } from './errors';
import { native, NativeHandle } from './native';
import { DType, DTYPES, Tensor } from './tensor';

export type Shape = readonly number[];
export type NestedArray = number | readonly NestedArray[];
export type TensorData = NestedArray | ArrayBufferView;

export interface CreateOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

const CREATE_KEYS = ['dtype', 'device', 'requiresGrad'] as const;

export function parseDType(fn: string, d: unknown): DType {
  if (DTYPES.includes(d as DType)) return d as DType;
  throw typeError(fn, `unknown dtype ${describe(d)} (expected 'float32', 'int32' or 'bfloat16')`);
}

/** Whether gradients can flow through tensors of this dtype (the floating ones). */
export function isFloating(dtype: DType): boolean {
  return dtype !== 'int32';
}

// dtype, device and requiresGrad from validated options.
function common(fn: string, o: Record<string, unknown>, dtypeDefault: DType) {
  const dtype = o.dtype === undefined ? dtypeDefault : parseDType(fn, o.dtype);
  const device = o.device === undefined ? defaultDevice() : parseDevice(fn, o.device);
  if (o.requiresGrad !== undefined && typeof o.requiresGrad !== 'boolean')
    throw typeError(fn, `requiresGrad must be a boolean, got ${describe(o.requiresGrad)}`);
  const requiresGrad = o.requiresGrad === true;
  if (requiresGrad && !isFloating(dtype)) throw typeError(fn, `only float32 and bfloat16 tensors can require gradients, got ${dtype}`);
  return { dtype, device, requiresGrad };
}

/** Checks a shape argument: an array of integer sizes >= 0 (or one number for 1-D). */
export function parseShape(fn: string, shape: unknown): number[] {
  if (typeof shape === 'number') shape = [shape];
  if (!Array.isArray(shape)) throw typeError(fn, `shape must be an array of sizes, got ${describe(shape)}`);
  shape.forEach((d, i) => {
    if (typeof d !== 'number') throw typeError(fn, `shape [${shape.join(', ')}] has a non-number size at dim ${i}`);
    if (!Number.isFinite(d)) throw rangeError(fn, `shape [${shape.join(', ')}] has a non-finite size at dim ${i}`);
    if (!Number.isInteger(d) || d < 0) throw rangeError(fn, `shape [${shape.join(', ')}] has an invalid size ${d} at dim ${i} (sizes are integers >= 0)`);
  });
  const n = shape.reduce((a: number, b: number) => a * b, 1);
  if (!Number.isSafeInteger(n)) throw rangeError(fn, `shape [${shape.join(', ')}] has more than 2^53 elements`);
  return shape as number[];
}

// Nested arrays -> (flat values, shape); throws on ragged or non-numeric data.
function flattenNested(fn: string, data: readonly NestedArray[]): { values: number[]; shape: number[] } {
  const shape: number[] = [];
  for (let d: NestedArray = data; Array.isArray(d); d = (d as readonly NestedArray[])[0]) {
    shape.push(d.length);
    if (d.length === 0) break;
  }
  const values: number[] = [];
  const walk = (d: NestedArray, depth: number, path: number[]): void => {
    if (depth === shape.length) {
      if (typeof d !== 'number') throw typeError(fn, `data${path.map((i) => `[${i}]`).join('')} is ${describe(d)}, expected a number`);
      values.push(d);
      return;
    }
    if (!Array.isArray(d) || d.length !== shape[depth]) {
      const got = Array.isArray(d) ? `length ${d.length}` : describe(d);
      throw rangeError(fn, `ragged nested array: data${path.map((i) => `[${i}]`).join('')} has ${got}, expected length ${shape[depth]} (inferred shape ${shapeStr(shape)})`);
    }
    (d as readonly NestedArray[]).forEach((v, i) => walk(v, depth + 1, [...path, i]));
  };
  walk(data, 0, []);
  return { values, shape };
}

// Values checked for the dtype, as the typed array the native side takes
// (float32 values for bfloat16, rounded natively to nearest even).
function toTyped(fn: string, values: ArrayLike<number>, dtype: DType): Float32Array | Int32Array {
  if (dtype !== 'int32') return values instanceof Float32Array ? values : Float32Array.from(values);
  if (values instanceof Int32Array) return values;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647)
      throw rangeError(fn, `value ${v} at index ${i} is not an int32 (dtype 'int32' needs integers in [-2^31, 2^31))`);
  }
  return Int32Array.from(values);
}

/**
 * A tensor from a number, nested arrays or a typed array. dtype defaults to
 * int32 for Int32Array data and float32 otherwise; `shape` reshapes flat data.
 */
export function tensor(data: TensorData, opts: CreateOptions & { shape?: Shape } = {}): Tensor {
  const fn = 'cudagrad.tensor';
  const o = checkOptions(fn, opts, [...CREATE_KEYS, 'shape']);
  let values: ArrayLike<number>;
  let shape: number[];
  if (typeof data === 'number') {
    values = [data];
    shape = [];
  } else if (Array.isArray(data)) {
    ({ values, shape } = flattenNested(fn, data));
  } else if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) throw typeError(fn, `${data.constructor.name} data is not supported; use Int32Array or Float32Array`);
    values = data as unknown as ArrayLike<number>;
    shape = [values.length];
  } else {
    throw typeError(fn, `data must be a number, a nested array of numbers or a typed array, got ${describe(data)}`);
  }
  const { dtype, device, requiresGrad } = common(fn, o, data instanceof Int32Array ? 'int32' : 'float32');
  if (o.shape !== undefined) {
    const want = parseShape(fn, o.shape);
    const n = want.reduce((a, b) => a * b, 1);
    if (n !== values.length) throw rangeError(fn, `data has ${values.length} elements but shape ${shapeStr(want)} needs ${n}`);
    shape = want;
  }
  return new Tensor(native.fromData(toTyped(fn, values, dtype), shape, dtype, device), requiresGrad);
}

// A constant fill, named as the public function that asked for it.
function filled(fn: string, shape: unknown, value: unknown, opts: unknown): Tensor {
  const o = checkOptions(fn, opts, CREATE_KEYS);
  const s = parseShape(fn, shape);
  const { dtype, device, requiresGrad } = common(fn, o, 'float32');
  if (typeof value !== 'number') throw typeError(fn, `fill value must be a number, got ${describe(value)}`);
  if (dtype === 'int32' && (!Number.isInteger(value) || value < -2147483648 || value > 2147483647))
    throw rangeError(fn, `fill value ${value} is not an int32`);
  return new Tensor(native.full(s, dtype, value, device), requiresGrad);
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: Shape | number, value: number, opts: CreateOptions = {}): Tensor {
  return filled('cudagrad.full', shape, value, opts);
}

export function zeros(shape: Shape | number, opts: CreateOptions = {}): Tensor {
  return filled('cudagrad.zeros', shape, 0, opts);
}

export function ones(shape: Shape | number, opts: CreateOptions = {}): Tensor {
  return filled('cudagrad.ones', shape, 1, opts);
}

/**
 * Values from `start` (inclusive) to `stop` (exclusive) by `step`, as
 * torch.arange: arange(5), arange(2, 5), arange(0, 1, 0.25). dtype defaults to
 * int32 when every argument is an integer, else float32.
 */
export function arange(start: number, stop?: number | CreateOptions, step?: number | CreateOptions, opts?: CreateOptions): Tensor {
  const fn = 'cudagrad.arange';
  const args: unknown[] = [start, stop, step, opts];
  const last = args.findIndex((a) => a !== undefined && typeof a === 'object');
  const nums = (last >= 0 ? args.slice(0, last) : args).filter((a) => a !== undefined);
  const o = checkOptions(fn, last >= 0 ? args[last] : undefined, ['dtype', 'device']);
  nums.forEach((a, i) => {
    if (typeof a !== 'number') throw typeError(fn, `argument ${i + 1} must be a number, got ${describe(a)}`);
    if (!Number.isFinite(a)) throw rangeError(fn, `argument ${i + 1} is not finite (${a})`);
  });
  if (nums.length === 0 || nums.length > 3) throw typeError(fn, 'expected arange(stop), arange(start, stop) or arange(start, stop, step)');
  const [a, b, c] = nums as number[];
  const [lo, hi, st] = nums.length === 1 ? [0, a, 1] : [a, b, c ?? 1];
  if (st === 0) throw rangeError(fn, 'step must not be zero');
  const n = Math.max(0, Math.ceil((hi - lo) / st));
  if (!Number.isSafeInteger(n)) throw rangeError(fn, `too many values (${n})`);
  const { dtype, device } = common(fn, o, [lo, hi, st].every(Number.isInteger) ? 'int32' : 'float32');
  if (dtype === 'int32' && ![lo, st].every(Number.isInteger)) throw rangeError(fn, `start ${lo} and step ${st} must be integers for dtype int32`);
  return new Tensor(native.arange(lo, st, n, dtype, device));
}

export interface RandomOptions {
  /** Seed for this call only (the default generator is left untouched). */
  seed?: number | bigint;
  device?: Device;
  /** float32 (default) or bfloat16 (the float32 values rounded). */
  dtype?: 'float32' | 'bfloat16';
  requiresGrad?: boolean;
}

export function parseSeed(fn: string, seed: unknown): bigint {
  if (typeof seed === 'bigint') {
    if (seed < 0n || seed >= 1n << 64n) throw rangeError(fn, `seed ${seed} must be in [0, 2^64)`);
    return seed;
  }
  if (typeof seed !== 'number') throw typeError(fn, `seed must be a number or a bigint, got ${describe(seed)}`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw rangeError(fn, `seed ${seed} must be a non-negative integer`);
  return BigInt(seed);
}

function randomArgs(fn: string, shape: unknown, opts: unknown, extra: string[]) {
  const o = checkOptions(fn, opts, ['seed', 'device', 'dtype', 'requiresGrad', ...extra]);
  const s = parseShape(fn, shape);
  const { dtype, device, requiresGrad } = common(fn, o, 'float32');
  if (dtype === 'int32') throw typeError(fn, `random tensors are float32 or bfloat16, got dtype ${dtype}`);
  const seed = o.seed === undefined ? null : parseSeed(fn, o.seed);
  const num = (k: string, dflt: number): number => {
    const v = o[k] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw typeError(fn, `${k} must be a finite number, got ${describe(v)}`);
    return v;
  };
  // The float32 generator's values, rounded when dtype is bfloat16.
  const make = (h: NativeHandle): Tensor => new Tensor(dtype === 'float32' ? h : castAndFree(h, dtype), requiresGrad);
  return { s, device, seed, num, make };
}

function castAndFree(h: NativeHandle, dtype: DType): NativeHandle {
  try {
    return native.cast(h, dtype);
  } finally {
    h.dispose();
  }
}

/** Uniform random values in [low, high) (default [0, 1)) from the Philox generator. */
export function rand(shape: Shape | number, opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  const fn = 'cudagrad.rand';
  const { s, device, seed, num, make } = randomArgs(fn, shape, opts, ['low', 'high']);
  const low = num('low', 0);
  const high = num('high', 1);
  if (low > high) throw rangeError(fn, `low ${low} is greater than high ${high}`);
  return make(native.uniform(s, seed, low, high, device));
}

/** Normal random values (default mean 0, std 1) from the Philox generator. */
export function randn(shape: Shape | number, opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  const fn = 'cudagrad.randn';
  const { s, device, seed, num, make } = randomArgs(fn, shape, opts, ['mean', 'std']);
  const mean = num('mean', 0);
  const std = num('std', 1);
  if (std < 0) throw rangeError(fn, `std ${std} is negative`);
  return make(native.normal(s, seed, mean, std, device));
}
