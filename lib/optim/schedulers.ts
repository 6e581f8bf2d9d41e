// Learning-rate schedules that set optimizer.lr: StepLR (decay by gamma every
// stepSize steps) and CosineWithWarmup (linear warmup, then cosine decay to
// minLr). Call scheduler.step() once per epoch or per batch, after
// optimizer.step(), as in PyTorch; construction sets the step-0 rate. Their
// state (the step count and the base rate) round-trips through stateDict().
import { checkOptions, describe, rangeError, typeError } from '../errors';
import { hyper, Optimizer } from './optimizer';

export interface SchedulerState {
  type: string;
  lastStep: number;
  baseLr: number;
}

export abstract class LRScheduler {
  readonly optimizer: Optimizer;
  /** The learning rate the optimizer had when the scheduler was made. */
  baseLr: number;
  /** Steps taken (scheduler.step() calls). */
  lastStep = 0;

  protected constructor(fn: string, optimizer: Optimizer) {
    if (!(optimizer instanceof Optimizer)) throw typeError(fn, `optimizer must be an optim.Optimizer, got ${describe(optimizer)}`);
    this.optimizer = optimizer;
    this.baseLr = optimizer.lr;
  }

  /** The learning rate at step t (0-based). */
  abstract lrAt(t: number): number;

  /** Advances one step and sets the optimizer's lr. */
  step(): void {
    this.lastStep++;
    this.optimizer.lr = this.lrAt(this.lastStep);
  }

  stateDict(): SchedulerState {
    return { type: this.constructor.name, lastStep: this.lastStep, baseLr: this.baseLr };
  }

  loadStateDict(s: SchedulerState): void {
    const fn = `optim.${this.constructor.name}.loadStateDict`;
    if (s === null || typeof s !== 'object' || s.type !== this.constructor.name) throw rangeError(fn, `state is not for ${this.constructor.name}: ${JSON.stringify(s)}`);
    if (!Number.isSafeInteger(s.lastStep) || s.lastStep < 0) throw rangeError(fn, `lastStep must be an integer >= 0, got ${describe(s.lastStep)}`);
    this.baseLr = hyper(fn, s.baseLr, 'baseLr', NaN);
    this.lastStep = s.lastStep;
    this.optimizer.lr = this.lrAt(this.lastStep);
  }
}

export interface StepLROptions {
  /** Decay every stepSize steps. */
  stepSize: number;
  /** Factor (default 0.1). */
  gamma?: number;
}

/** lr = baseLr * gamma ^ floor(t / stepSize) (torch.optim.lr_scheduler.StepLR). */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, opts: StepLROptions) {
    const fn = 'optim.StepLR';
    super(fn, optimizer);
    const o = checkOptions(fn, opts, ['stepSize', 'gamma']);
    if (!Number.isSafeInteger(o.stepSize) || (o.stepSize as number) < 1) throw rangeError(fn, `stepSize must be an integer >= 1, got ${describe(o.stepSize)}`);
    this.stepSize = o.stepSize as number;
    this.gamma = hyper(fn, o.gamma, 'gamma', 0.1);
    optimizer.lr = this.lrAt(0);
  }

  lrAt(t: number): number {
    return this.baseLr * this.gamma ** Math.floor(t / this.stepSize);
  }
}

export interface CosineWithWarmupOptions {
  /** Linear warmup steps (default 0): lr = baseLr * (t + 1) / (warmupSteps + 1). */
  warmupSteps?: number;
  /** Step at which the cosine reaches minLr (and stays). */
  totalSteps: number;
  /** default 0. */
  minLr?: number;
}

/**
 * Linear warmup, then minLr + (baseLr - minLr) * (1 + cos(pi * p)) / 2 with
 * p = (t - warmup) / (total - warmup), and minLr from totalSteps on (nanoGPT's schedule).
 */
export class CosineWithWarmup extends LRScheduler {
  readonly warmupSteps: number;
  readonly totalSteps: number;
  readonly minLr: number;

  constructor(optimizer: Optimizer, opts: CosineWithWarmupOptions) {
    const fn = 'optim.CosineWithWarmup';
    super(fn, optimizer);
    const o = checkOptions(fn, opts, ['warmupSteps', 'totalSteps', 'minLr']);
    const w = o.warmupSteps ?? 0;
    if (!Number.isSafeInteger(w) || (w as number) < 0) throw rangeError(fn, `warmupSteps must be an integer >= 0, got ${describe(w)}`);
    if (!Number.isSafeInteger(o.totalSteps) || (o.totalSteps as number) < (w as number))
      throw rangeError(fn, `totalSteps must be an integer >= warmupSteps (${w}), got ${describe(o.totalSteps)}`);
    this.warmupSteps = w as number;
    this.totalSteps = o.totalSteps as number;
    this.minLr = hyper(fn, o.minLr, 'minLr', 0);
    optimizer.lr = this.lrAt(0);
  }

  lrAt(t: number): number {
    if (t < this.warmupSteps) return (this.baseLr * (t + 1)) / (this.warmupSteps + 1);
    if (t >= this.totalSteps) return this.minLr;
    const p = (t - this.warmupSteps) / (this.totalSteps - this.warmupSteps);
    return this.minLr + ((this.baseLr - this.minLr) * (1 + Math.cos(Math.PI * p))) / 2;
  }
}
