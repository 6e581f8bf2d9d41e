// Tensor: a shape, a dtype and a device over native storage. Contiguous,
// row-major. Freed by dispose(), by an enclosing tidy(), or (as a safety net)
// once garbage collected: the native handle, reachable only through its
// tensor, frees the storage in its own finalizer (no FinalizationRegistry,
// whose register/unregister cost ~0.6 us per op).
import { inspect } from 'node:util';

import { Device, parseDevice } from './device';
import { rangeError, shapeStr, typeError } from './errors';
import type { Node } from './autograd';
import type { NativeHandle } from './native';
import { track } from './scope';

/** bfloat16: 2-byte storage read back as float32 values (see cudagrad.cast). */
export type DType = 'float32' | 'int32' | 'bfloat16';
export const DTYPES: readonly DType[] = ['float32', 'int32', 'bfloat16'];
export type TypedArray = Float32Array | Int32Array;

export class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly device: Device;
  /** Number of elements. */
  readonly size: number;
  /** Whether gradients flow to this tensor (used by autograd). */
  requiresGrad: boolean;
  /** The accumulated gradient, once backward has run. */
  grad: Tensor | null = null;
  /** @internal The autograd node that produced this tensor (null for leaves). */
  gradNode: Node | null = null;
  /** @internal Which output of gradNode this tensor is. */
  gradOutputIndex = 0;
  #handle: NativeHandle | null;

  /** @internal Tensors are made by cudagrad.tensor(), zeros(), ... */
  constructor(handle: NativeHandle, requiresGrad = false) {
    this.#handle = handle;
    this.shape = Object.freeze(handle.shape());
    this.dtype = handle.dtype();
    this.device = handle.device() as Device;
    this.size = this.shape.reduce((a, b) => a * b, 1);
    this.requiresGrad = requiresGrad;
    track(this);
  }

  get ndim(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.#handle === null;
  }

  /** @internal The native handle; throws naming `fn` if disposed. */
  handle(fn: string): NativeHandle {
    if (!this.#handle) throw typeError(fn, `tensor was disposed (${this.describe()})`);
    return this.#handle;
  }

  /** "shape [2, 3], float32, cpu" */
  describe(): string {
    return `shape ${shapeStr(this.shape)}, ${this.dtype}, ${this.device}`;
  }

  /** A flat copy of the values (synchronous; waits for the device); bfloat16 reads as a Float32Array. */
  toArray(): TypedArray {
    return this.handle('Tensor.toArray').toArray();
  }

  /** A flat copy of the values; does not block the event loop while the GPU works. */
  data(): Promise<TypedArray> {
    try {
      return this.handle('Tensor.data').data();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The value of a one-element tensor. */
  item(): number {
    const h = this.handle('Tensor.item');
    if (this.size !== 1) throw rangeError('Tensor.item', `tensor has ${this.size} elements (${this.describe()}); item() needs exactly one`);
    return h.toArray()[0];
  }

  /**
   * This tensor on `device` (a new tensor sharing storage when already there),
   * or, given a dtype name, converted to that dtype (cudagrad.cast).
   */
  to(target: Device | DType): Tensor {
    const h = this.handle('Tensor.to');
    return new Tensor(h.to(parseDevice('Tensor.to', target)));
  }

  /** A view with a new shape of the same size; one dimension may be -1 (inferred). */
  reshape(...shape: (number | readonly number[])[]): Tensor {
    const h = this.handle('Tensor.reshape');
    const dims = (shape.length === 1 && Array.isArray(shape[0]) ? shape[0] : shape) as unknown[];
    return new Tensor(h.reshape(inferShape('Tensor.reshape', dims, this)));
  }

  /** Frees the native memory now. Idempotent. */
  dispose(): void {
    if (!this.#handle) return;
    this.#handle.dispose();
    this.#handle = null;
  }

  toString(): string {
    if (this.isDisposed) return `Tensor(${this.describe()}, disposed)`;
    if (this.size > 20) return `Tensor(${this.describe()})`;
    return `Tensor(${this.describe()}, [${Array.from(this.toArray()).join(', ')}])`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

// Resolves a reshape target: integers >= 0 and at most one -1.
function inferShape(fn: string, dims: unknown[], t: Tensor): number[] {
  let infer = -1;
  let known = 1;
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i];
    if (typeof d !== 'number') throw typeError(fn, `size at dim ${i} is not a number`);
    if (d === -1 && infer < 0) {
      infer = i;
      continue;
    }
    if (!Number.isSafeInteger(d) || d < 0)
      throw rangeError(fn, `invalid size ${d} at dim ${i} in [${dims.join(', ')}] (sizes are integers >= 0, one may be -1)`);
    known *= d;
  }
  const out = dims as number[];
  if (infer >= 0) {
    if (known === 0 || t.size % known !== 0)
      throw rangeError(fn, `cannot reshape tensor of shape ${shapeStr(t.shape)} (${t.size} elements) to [${dims.join(', ')}]`);
    return out.map((d, i) => (i === infer ? t.size / known : d));
  }
  if (known !== t.size)
    throw rangeError(fn, `cannot reshape tensor of shape ${shapeStr(t.shape)} (${t.size} elements) to ${shapeStr(out)} (${known} elements)`);
  return out;
}
