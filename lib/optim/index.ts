// cudagrad.optim: optimizers over fused native updates, learning-rate
// schedules and gradient clipping.
export { Optimizer } from './optimizer';
export type { BaseOptions, OptimizerStateDict } from './optimizer';
export { SGD } from './sgd';
export type { SGDOptions } from './sgd';
export { Adam, AdamW } from './adam';
export type { AdamOptions } from './adam';
export { CosineWithWarmup, LRScheduler, StepLR } from './schedulers';
export type { CosineWithWarmupOptions, SchedulerState, StepLROptions } from './schedulers';
export { clipGradNorm } from '../nn/utils';
