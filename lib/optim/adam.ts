// optim.Adam and optim.AdamW: torch 1.13's rules (bias-corrected moments;
// Adam adds L2 weight decay to the gradient, AdamW decays the weights
// directly). step() updates every parameter in one native call (adamStepMulti:
// one CUDA launch per 24 tensors, the global-norm clip fused in); the per-
// parameter adamStep / adamwStep give the same numbers. Moments m and v are
// created on a parameter's first step.
import { checkOptions } from '../errors';
import { AdamMultiItem, adamStep, adamStepMulti, adamwStep } from '../ops/optim';
import { Tensor } from '../tensor';
import { BaseOptions, hyper, Hyper, Optimizer, Update } from './optimizer';

export interface AdamOptions extends BaseOptions {
  /** default 1e-3. */
  lr?: number;
  /** default 0.9. */
  beta1?: number;
  /** default 0.999. */
  beta2?: number;
  /** default 1e-8. */
  eps?: number;
  /** Adam: L2 penalty (default 0); AdamW: decoupled decay (default 0.01). */
  weightDecay?: number;
}

const KEYS = ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'globalClipNorm'];

abstract class AdamBase extends Optimizer {
  beta1 = 0.9;
  beta2 = 0.999;
  eps = 1e-8;
  weightDecay = 0;
  protected readonly slotNames = ['m', 'v'] as const;
  protected abstract readonly decoupled: boolean;

  protected constructor(fn: string, params: Iterable<Tensor>, opts: AdamOptions) {
    const o = checkOptions(fn, opts, KEYS);
    super(fn, params, (o.lr ?? 1e-3) as number, o);
  }

  get options(): Hyper {
    return { lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay };
  }

  protected setOptions(o: Hyper): void {
    const fn = `optim.${this.constructor.name}`;
    if (o.lr !== undefined) this.lr = hyper(fn, o.lr, 'lr', this.lr);
    this.beta1 = hyper(fn, o.beta1, 'beta1', 0.9, 0, 1);
    this.beta2 = hyper(fn, o.beta2, 'beta2', 0.999, 0, 1);
    this.eps = hyper(fn, o.eps, 'eps', 1e-8);
    this.weightDecay = hyper(fn, o.weightDecay, 'weightDecay', this.decoupled ? 0.01 : 0);
  }

  /** The weight decay of parameter p (default: weightDecay for every parameter). */
  protected weightDecayOf(_p: Tensor): number {
    return this.weightDecay;
  }

  protected update(p: Tensor, g: Tensor, slots: Map<string, Tensor>, step: number): void {
    const o = { lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecayOf(p), step };
    (this.decoupled ? adamwStep : adamStep)(p, g, slots.get('m')!, slots.get('v')!, o);
  }

  // Every parameter in one native call, the global-norm clip fused in (the
  // gradients are read once and not rewritten); the same numbers as
  // clipGradNorm then update() per parameter.
  // Parameters on several devices: one call per device (the clip needs one device: with a
  // clip, mixed devices take the per-parameter path, whose clipGradNorm says so).
  protected updateAll(all: Update[], clipNorm: number | null): boolean {
    const byDevice = new Map<string, AdamMultiItem[]>();
    for (const u of all) {
      const item = { param: u.p, grad: u.g, m: u.slots.get('m')!, v: u.slots.get('v')!, step: u.step, weightDecay: this.weightDecayOf(u.p) };
      const list = byDevice.get(u.p.device);
      if (list) list.push(item);
      else byDevice.set(u.p.device, [item]);
    }
    if (byDevice.size > 1 && clipNorm !== null) return false;
    const o = { lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps };
    for (const items of byDevice.values()) adamStepMulti(items, o, this.decoupled, clipNorm);
    return true;
  }
}

export class Adam extends AdamBase {
  protected readonly decoupled: boolean = false;
  constructor(params: Iterable<Tensor>, opts: AdamOptions = {}) {
    super('optim.Adam', params, opts);
    this.setOptions(opts as Hyper);
  }
}

export class AdamW extends AdamBase {
  protected readonly decoupled: boolean = true;
  constructor(params: Iterable<Tensor>, opts: AdamOptions = {}) {
    super('optim.AdamW', params, opts);
    this.setOptions(opts as Hyper);
  }
}
