// Loads the native addon: build/Release when built from source, else the
// prebuilt binary under prebuilds/ (node-gyp-build picks the matching one), or
// the file named by CUDAGRAD_ADDON.
import * as path from 'node:path';

export type NativeDType = 'float32' | 'int32' | 'bfloat16';

// One native tensor (bindings/handle.cpp).
export interface NativeHandle {
  shape(): number[];
  dtype(): NativeDType;
  device(): string;
  disposed(): boolean;
  dispose(): void;
  toArray(): Float32Array | Int32Array;
  data(): Promise<Float32Array | Int32Array>;
  to(device: string): NativeHandle;
  reshape(shape: number[]): NativeHandle;
}

export interface NativeStats {
  tensors: number;
  storages: number;
  bytes: number;
}

export interface NativeAddon {
  fromData(data: Float32Array | Int32Array, shape: number[], dtype: NativeDType, device: string): NativeHandle;
  full(shape: number[], dtype: NativeDType, value: number, device: string): NativeHandle;
  arange(start: number, step: number, n: number, dtype: NativeDType, device: string): NativeHandle;
  uniform(shape: number[], seed: bigint | null, low: number, high: number, device: string): NativeHandle;
  normal(shape: number[], seed: bigint | null, mean: number, std: number, device: string): NativeHandle;
  cast(x: NativeHandle, dtype: NativeDType): NativeHandle;
  devices(): {
    threads: number;
    simd: string;
    simdDetected: string;
    cuda: { index: number; name: string; major: number; minor: number; totalMemory: number; multiprocessors: number }[];
  };
  cudaStatus(): { compiled: boolean; available: boolean; deviceCount: number; reason: string; runtime: string };
  memory(): { cpu: NativeStats & { cached: number }; cuda: NativeStats & { reserved: number } };
  setNumThreads(n: number): void;
  numThreads(): number;
  setSimdLevel(level: string): void;
  setMatmulPrecision(p: string): void;
  matmulPrecision(): string;
  setDeterministic(on: boolean): void;
  deterministic(): boolean;
  emptyCache(): void;
  synchronize(device: number): void;
  hostSyncs(): number;
  gemmLaunches(): { simt: number; mma: number; wgmma: number };
  gemmWgmmaAvailable(): boolean;
  sharesStorage(a: NativeHandle, b: NativeHandle): boolean;
  rngState(): { seed: bigint; offset: bigint };
  setRngState(seed: bigint, offset: bigint): void;
}

export const packageRoot = path.join(__dirname, '..');
// CUDAGRAD_ADDON=<path to a .node> loads another build (e.g. the SIMT emulator build in build-emu/).
const override = process.env.CUDAGRAD_ADDON;
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const native = (override ? require(path.resolve(override)) : require('node-gyp-build')(packageRoot)) as NativeAddon;
