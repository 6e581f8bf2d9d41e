// Runtime controls: memory accounting, disposal helpers, threads, SIMD level
// and the default random generator's state.
import { parseSeed } from './creation';
import type { SimdLevel } from './device';
import { describe, typeError } from './errors';
import { native } from './native';
import { Tensor } from './tensor';

export interface DeviceMemory {
  /** Live tensors (each a view of some storage). */
  numTensors: number;
  /** Bytes held by live storage. */
  numBytes: number;
}

export interface MemoryInfo extends DeviceMemory {
  devices: {
    cpu: DeviceMemory & {
      /** Bytes of freed large blocks kept for reuse (not in any tensor). */
      cachedBytes: number;
    };
    cuda: DeviceMemory & {
      /** Bytes the caching allocator holds from the driver (live + cached). */
      reservedBytes: number;
    };
  };
}

/** Live tensors and bytes, in total and per device. */
export function memory(): MemoryInfo {
  const m = native.memory();
  const cpu = { numTensors: m.cpu.tensors, numBytes: m.cpu.bytes, cachedBytes: m.cpu.cached };
  const cuda = { numTensors: m.cuda.tensors, numBytes: m.cuda.bytes, reservedBytes: m.cuda.reserved };
  return { numTensors: cpu.numTensors + cuda.numTensors, numBytes: cpu.numBytes + cuda.numBytes, devices: { cpu, cuda } };
}

/** Returns the memory that the CPU and CUDA caching allocators hold but no tensor uses. */
export function emptyCache(): void {
  native.emptyCache();
}

/** Disposes every tensor found in `container` (a tensor, or arrays / plain objects of them). */
export function dispose(container: unknown): void {
  if (container instanceof Tensor) container.dispose();
  else if (Array.isArray(container)) container.forEach(dispose);
  else if (container !== null && typeof container === 'object' && Object.getPrototypeOf(container) === Object.prototype)
    Object.values(container).forEach(dispose);
}

export function setNumThreads(n: number): void {
  if (typeof n !== 'number') throw typeError('cudagrad.setNumThreads', `expected a number, got ${describe(n)}`);
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.numThreads();
}

/** Forces the CPU kernels' SIMD level (at most what the CPU has). */
export function setSimdLevel(level: SimdLevel): void {
  native.setSimdLevel(level);
}

export type MatmulPrecision = 'highest' | 'high' | 'medium';

/**
 * Matmul precision on CUDA: 'highest' float32 (default), 'high' TF32 tensor
 * cores, 'medium' bf16 tensor cores, all accumulating in float32 (as
 * torch.set_float32_matmul_precision). The CPU always computes in float32.
 */
export function setMatmulPrecision(precision: MatmulPrecision): void {
  native.setMatmulPrecision(precision);
}

export function getMatmulPrecision(): MatmulPrecision {
  return native.matmulPrecision() as MatmulPrecision;
}

/**
 * Deterministic mode (as torch.use_deterministic_algorithms): kernels that
 * would add floats in a run-dependent order take an order-fixed path. Only
 * the CUDA embedding backward differs (its default adds rows with atomics
 * when the vocabulary is large; in this mode it sums them in token order, as
 * the CPU does, at some cost); every other kernel on both devices gives the
 * same bits run after run regardless. Default off.
 */
export function setDeterministic(on: boolean): void {
  if (typeof on !== 'boolean') throw typeError('cudagrad.setDeterministic', `expected a boolean, got ${describe(on)}`);
  native.setDeterministic(on);
}

export function getDeterministic(): boolean {
  return native.deterministic();
}

/**
 * Runs fn with bf16 mixed precision on CUDA ('medium' matmul precision: matmul
 * and attention operands rounded to bf16 inside the kernels, float32
 * accumulation, float32 storage, so parameters stay float32 master weights and
 * reductions stay float32), then restores the previous precision. `fn` must be
 * synchronous. The CPU computes in float32 regardless.
 */
export function autocast<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw typeError('cudagrad.autocast', `expected a function, got ${describe(fn)}`);
  const before = getMatmulPrecision();
  setMatmulPrecision('medium');
  try {
    return fn();
  } finally {
    setMatmulPrecision(before);
  }
}

export interface RngState {
  seed: bigint;
  offset: bigint;
}

/** Seeds the default generator (offset 0): later unseeded rand/randn calls repeat. */
export function manualSeed(seed: number | bigint): void {
  native.setRngState(parseSeed('cudagrad.manualSeed', seed), 0n);
}

export function getRngState(): RngState {
  return native.rngState();
}

export function setRngState(state: RngState): void {
  const fn = 'cudagrad.setRngState';
  if (state === null || typeof state !== 'object') throw typeError(fn, `expected {seed, offset}, got ${describe(state)}`);
  native.setRngState(parseSeed(fn, state.seed), parseSeed(fn, state.offset));
}
