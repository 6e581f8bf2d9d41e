// cudagrad: deep learning for Node.js on hand-written CUDA and SIMD C++ kernels.
export { arange, full, ones, parseShape, rand, randn, tensor, zeros } from './creation';
export type { CreateOptions, NestedArray, RandomOptions, Shape, TensorData } from './creation';
export { cuda, defaultDevice, devices, setDefaultDevice } from './device';
export type { CpuDeviceInfo, CudaDeviceInfo, Device, DeviceInfo, SimdLevel } from './device';
export {
  autocast,
  dispose,
  emptyCache,
  getDeterministic,
  getMatmulPrecision,
  getNumThreads,
  getRngState,
  manualSeed,
  memory,
  setDeterministic,
  setMatmulPrecision,
  setNumThreads,
  setRngState,
  setSimdLevel,
} from './runtime';
export type { DeviceMemory, MatmulPrecision, MemoryInfo, RngState } from './runtime';
export { backward, detach, enableGrad, isGradEnabled, noGrad } from './autograd';
export type { BackwardOptions } from './autograd';
export { keep, tidy } from './scope';
export { Tensor } from './tensor';
export type { DType, TypedArray } from './tensor';
export { version } from './version';
export * from './ops/index';
export * as nn from './nn/index';
export * as optim from './optim/index';
export * as io from './io/index';
export * as data from './data/index';
export * as keras from './keras/index';
export * as models from './models/index';
