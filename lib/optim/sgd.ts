// optim.SGD: torch.optim.SGD's rule (momentum, dampening, Nesterov, L2 weight
// decay added to the gradient) with the fused native sgdStep. The momentum
// buffer is created on a parameter's first step (as torch's clone of the gradient).
import { checkOptions, rangeError } from '../errors';
import { sgdStep } from '../ops/optim';
import { Tensor } from '../tensor';
import { BaseOptions, hyper, Hyper, Optimizer } from './optimizer';

export interface SGDOptions extends BaseOptions {
  /** Learning rate (default 0.01, as Keras). */
  lr?: number;
  /** default 0. */
  momentum?: number;
  /** default 0. */
  dampening?: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
  /** L2 penalty (default 0). */
  weightDecay?: number;
}

const KEYS = ['lr', 'momentum', 'dampening', 'nesterov', 'weightDecay', 'globalClipNorm'];

export class SGD extends Optimizer {
  momentum = 0;
  dampening = 0;
  nesterov = false;
  weightDecay = 0;
  protected get slotNames(): readonly string[] {
    return this.momentum !== 0 ? ['momentumBuffer'] : [];
  }

  constructor(params: Iterable<Tensor>, opts: SGDOptions = {}) {
    const o = checkOptions('optim.SGD', opts, KEYS);
    super('optim.SGD', params, (o.lr ?? 0.01) as number, o);
    this.setOptions(o as Hyper);
  }

  get options(): Hyper {
    return { lr: this.lr, momentum: this.momentum, dampening: this.dampening, nesterov: this.nesterov, weightDecay: this.weightDecay };
  }

  protected setOptions(o: Hyper): void {
    const fn = 'optim.SGD';
    if (o.lr !== undefined) this.lr = hyper(fn, o.lr, 'lr', this.lr);
    this.momentum = hyper(fn, o.momentum, 'momentum', 0);
    this.dampening = hyper(fn, o.dampening, 'dampening', 0, 0, 1, true);
    this.weightDecay = hyper(fn, o.weightDecay, 'weightDecay', 0);
    if (o.nesterov !== undefined && typeof o.nesterov !== 'boolean') throw rangeError(fn, `nesterov must be a boolean, got ${String(o.nesterov)}`);
    this.nesterov = o.nesterov === true;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0))
      throw rangeError(fn, `nesterov needs momentum > 0 and dampening 0, got momentum ${this.momentum}, dampening ${this.dampening}`);
  }

  protected update(p: Tensor, g: Tensor, slots: Map<string, Tensor>, _step: number, first: boolean): void {
    sgdStep(p, g, slots.get('momentumBuffer') ?? null, {
      lr: this.lr,
      momentum: this.momentum,
      dampening: this.dampening,
      nesterov: this.nesterov,
      weightDecay: this.weightDecay,
      firstStep: first,
    });
  }
}
