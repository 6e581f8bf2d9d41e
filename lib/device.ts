// Devices: what is present, the default device, and the cuda namespace.
// The default is CUDA when a device works, else the CPU; CUDAGRAD_DEVICE=cpu|cuda
// forces it (forcing cuda where CUDA does not work fails at load, saying why).
import * as os from 'node:os';

import { describe, typeError } from './errors';
import { native } from './native';

export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
export type SimdLevel = 'scalar' | 'avx2' | 'avx512';

export interface CpuDeviceInfo {
  type: 'cpu';
  device: 'cpu';
  name: string;
  threads: number;
  simd: SimdLevel;
  simdDetected: SimdLevel;
}

export interface CudaDeviceInfo {
  type: 'cuda';
  device: Device;
  index: number;
  name: string;
  computeCapability: string;
  totalMemory: number;
  multiprocessors: number;
}

export type DeviceInfo = CpuDeviceInfo | CudaDeviceInfo;

export function deviceName(index: number): Device {
  return index === 0 ? 'cuda' : `cuda:${index}`;
}

// 0 for 'cpu' and 'cuda', N for 'cuda:N'.
export function deviceIndex(d: Device): number {
  return d.startsWith('cuda:') ? Number(d.slice(5)) : 0;
}

// Normalises 'cpu' | 'cuda' | 'cuda:N' (cuda:0 -> cuda); anything else is a TypeError naming `fn`.
export function parseDevice(fn: string, d: unknown): Device {
  if (d === 'cpu' || d === 'cuda') return d;
  if (typeof d === 'string') {
    const m = /^cuda:(\d{1,3})$/.exec(d);
    if (m) return deviceName(Number(m[1]));
  }
  throw typeError(fn, `unknown device ${describe(d)} (expected 'cpu', 'cuda' or 'cuda:N')`);
}

export function devices(): DeviceInfo[] {
  const info = native.devices();
  const cpus = os.cpus();
  const list: DeviceInfo[] = [
    {
      type: 'cpu',
      device: 'cpu',
      name: cpus.length ? cpus[0].model.trim() : 'cpu',
      threads: info.threads,
      simd: info.simd as SimdLevel,
      simdDetected: info.simdDetected as SimdLevel,
    },
  ];
  for (const d of info.cuda) {
    list.push({
      type: 'cuda',
      device: deviceName(d.index),
      index: d.index,
      name: d.name,
      computeCapability: `${d.major}.${d.minor}`,
      totalMemory: d.totalMemory,
      multiprocessors: d.multiprocessors,
    });
  }
  return list;
}

const status = native.cudaStatus();

export const cuda = {
  /** True when the addon has CUDA kernels and a driver and a GPU answered. */
  available: (): boolean => status.available,
  /** Why CUDA is not available ('' when it is). */
  reason: (): string => status.reason,
  /** True when the addon was built with nvcc. */
  compiled: (): boolean => status.compiled,
  deviceCount: (): number => status.deviceCount,
  /** CUDA runtime and driver versions, as text. */
  runtime: (): string => status.runtime,
  /** Waits until all queued work on the device is done. */
  synchronize(device: Device = 'cuda'): void {
    native.synchronize(deviceIndex(parseDevice('cudagrad.cuda.synchronize', device)));
  },
  /** Returns cached, unused device memory to the driver. */
  emptyCache(): void {
    native.emptyCache();
  },
  /**
   * How many times the host has waited for a GPU since load: reading a CUDA
   * tensor (toArray, item, data, to('cpu')), synchronize(), emptyCache(). A
   * training step that reads nothing back adds none.
   */
  hostSyncs: (): number => native.hostSyncs(),
  /**
   * CUDA GEMM launches since load, per kernel path: 'simt' (float32, precision
   * 'highest'), 'mma' (mma.sync tensor cores, 'high' and 'medium'), 'wgmma'
   * (sm_90a warpgroup MMA for 'medium', off unless CUDAGRAD_GEMM_WGMMA=1), so
   * that tests and benchmarks can tell which path ran.
   */
  gemmLaunches: (): { simt: number; mma: number; wgmma: number } => native.gemmLaunches(),
  /**
   * CUDA attention calls (forward or backward) since load, per kernel path:
   * 'general' (any head size, one warp per row), 'simt' (float32 tiles,
   * precision 'highest'), 'mma' (tensor cores on float32 tensors, 'high' and
   * 'medium'), 'mmaBf16' (tensor cores reading bfloat16 tensors directly).
   */
  attentionLaunches: (): { general: number; simt: number; mma: number; mmaBf16: number } => native.attentionLaunches(),
  /** Whether the wgmma GEMM can run here: an sm_90 GPU and sm_90a code in this build (then CUDAGRAD_GEMM_WGMMA=1 selects it). */
  wgmmaAvailable: (): boolean => native.gemmWgmmaAvailable(),
};

function initialDefault(): Device {
  const forced = process.env.CUDAGRAD_DEVICE;
  if (forced === undefined || forced === '') return status.available ? 'cuda' : 'cpu';
  const d = parseDevice('CUDAGRAD_DEVICE', forced);
  if (d !== 'cpu' && !status.available) {
    throw new Error(`cudagrad: CUDAGRAD_DEVICE=${forced} but CUDA is not available: ${status.reason}`);
  }
  if (d !== 'cpu' && deviceIndex(d) >= status.deviceCount) {
    throw new RangeError(`cudagrad: CUDAGRAD_DEVICE=${forced} but only ${status.deviceCount} CUDA device(s) are present`);
  }
  return d;
}

let current: Device = initialDefault();

export function defaultDevice(): Device {
  return current;
}

export function setDefaultDevice(device: Device): void {
  const d = parseDevice('cudagrad.setDefaultDevice', device);
  if (d !== 'cpu' && !status.available) {
    throw new Error(`cudagrad.setDefaultDevice: CUDA is not available: ${status.reason}`);
  }
  current = d;
}
