// optim.Optimizer: the base of SGD, Adam and AdamW. It holds the parameters
// (leaf float32 tensors), the learning rate (`lr`, which schedulers set),
// per-parameter step counts and state tensors ("slots": momentum buffers,
// moments), created on a parameter's first update and kept out of tidy()
// scopes. step() updates, in place, every parameter that has a gradient, with
// the fused native kernels; an optional global-norm clip runs first (Adam and
// AdamW: fused into one multi-tensor update that leaves .grad unchanged; SGD:
// clipGradNorm on the gradients, then the update).
// stateDict() / loadStateDict() carry the step counts, the hyperparameters and
// the slots, so a resumed run continues bit for bit.
import { zeros } from '../creation';
import { describe, rangeError, shapeStr, typeError } from '../errors';
import { clipGradNorm } from '../nn/utils';
import { copyInto } from '../nn/copy';
import { clone } from '../ops/view';
import { noGrad } from '../autograd';
import { keep } from '../scope';
import { Tensor } from '../tensor';

export type Hyper = Record<string, number | boolean>;

/** A parameter to update: its gradient, state slots and step count (after this update). */
export interface Update {
  p: Tensor;
  g: Tensor;
  slots: Map<string, Tensor>;
  step: number;
  first: boolean;
}

export interface OptimizerStateDict {
  /** 'SGD', 'Adam' or 'AdamW'. */
  type: string;
  /** Hyperparameters, including the current lr. */
  options: Hyper;
  /** Update count of each parameter (0: never updated, no slots yet). */
  steps: number[];
  /** Slot tensors named '<param index>.<slot>' (live tensors, not copies). */
  tensors: Record<string, Tensor>;
}

export interface BaseOptions {
  /**
   * Clip the gradients' global L2 norm to this before each step (default: no
   * clipping). The update uses the clipped gradients; Adam and AdamW leave
   * `.grad` as backward computed it, SGD scales `.grad` in place.
   */
  globalClipNorm?: number | null;
}

/** Checks a hyperparameter: a finite number in [min, max) (or [min, max] when `closed`). */
export function hyper(fn: string, v: unknown, name: string, dflt: number, min = 0, max = Infinity, closed = false): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || Number.isNaN(v)) throw typeError(fn, `${name} must be a number, got ${describe(v)}`);
  if (!(v >= min && (closed ? v <= max : v < max)) || !Number.isFinite(v))
    throw rangeError(fn, `${name} must be ${max === Infinity ? `a finite number >= ${min}` : `in [${min}, ${max}${closed ? ']' : ')'}`}, got ${v}`);
  return v;
}

export abstract class Optimizer {
  /** The learning rate of the next step (schedulers set it). */
  lr: number;
  /** Steps taken (calls of step()). */
  iterations = 0;
  readonly globalClipNorm: number | null;
  #params: Tensor[] = [];
  #steps: number[] = [];
  #slots: Map<string, Tensor>[] = [];
  protected abstract readonly slotNames: readonly string[];
  readonly #fn: string;

  protected constructor(fn: string, params: Iterable<Tensor>, lr: number, opts: BaseOptions) {
    this.#fn = fn;
    this.lr = hyper(fn, lr, 'lr', NaN);
    const c = opts.globalClipNorm;
    this.globalClipNorm = c === undefined || c === null ? null : hyper(fn, c, 'globalClipNorm', 0);
    this.setParams(params);
  }

  /** The parameters this optimizer updates. */
  get params(): readonly Tensor[] {
    return this.#params;
  }

  /** @internal Replaces the (state-free) parameter list: keras.compile attaches a model's parameters to an optimizer built without them. */
  setParams(params: Iterable<Tensor>): void {
    const fn = this.#fn;
    if (params === null || typeof params !== 'object' || !(Symbol.iterator in params))
      throw typeError(fn, `params must be an array of tensors (e.g. model.parameters()), got ${describe(params)}`);
    if (this.#steps.some((s) => s > 0)) throw rangeError(fn, 'cannot change the parameters of an optimizer that has taken steps');
    const list = [...params];
    const seen = new Set<Tensor>();
    list.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw typeError(fn, `params[${i}] must be a Tensor, got ${describe(p)}`);
      if (p.isDisposed) throw typeError(fn, `params[${i}] was disposed`);
      if (p.dtype !== 'float32') throw typeError(fn, `params[${i}] must be float32, got ${p.describe()}`);
      if (!p.isLeaf) throw typeError(fn, `params[${i}] is not a leaf tensor (it was computed by ${p.gradNode?.name}); optimize parameters, not results`);
      if (seen.has(p)) throw rangeError(fn, `params[${i}] appears more than once`);
      seen.add(p);
    });
    this.#params = list;
    this.#steps = list.map(() => 0);
    this.#slots = list.map(() => new Map());
  }

  /** Drops the parameters' gradients (grad = null). */
  zeroGrad(): void {
    for (const p of this.#params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    const fn = `${this.#fn}.step`;
    const lr = this.lr;
    if (typeof lr !== 'number' || !(lr >= 0) || !Number.isFinite(lr)) throw rangeError(fn, `lr must be a finite number >= 0, got ${describe(lr)}`);
    const idx: number[] = []; // the parameters with a gradient
    this.#params.forEach((p, i) => {
      const g = p.grad;
      if (!g) return;
      if (shapeStr(g.shape) !== shapeStr(p.shape)) throw rangeError(fn, `params[${i}] has shape ${shapeStr(p.shape)} but its grad has shape ${shapeStr(g.shape)}`);
      idx.push(i);
    });
    noGrad(() => {
      // A step count advances only once its parameter is updated (a failed call leaves them as they were).
      const all: Update[] = idx.map((i) => {
        const p = this.#params[i];
        const slots = this.#slots[i];
        for (const s of this.slotNames) if (!slots.has(s)) slots.set(s, keep(zeros(p.shape, { device: p.device })));
        const step = this.#steps[i] + 1;
        return { p, g: p.grad!, slots, step, first: step === 1 };
      });
      // The norm is not read back here: no host sync on CUDA.
      if (this.updateAll(all, this.globalClipNorm)) {
        for (const i of idx) this.#steps[i]++;
      } else {
        if (this.globalClipNorm !== null) clipGradNorm(this.#params, this.globalClipNorm, { returnNorm: false });
        all.forEach((u, k) => {
          this.update(u.p, u.g, u.slots, u.step, u.first);
          this.#steps[idx[k]]++;
        });
      }
    });
    this.iterations++;
  }

  /**
   * Updates every parameter of `all` at once (clipping the gradients by their
   * global norm first when clipNorm is not null), or returns false to have
   * step() clip and call update() per parameter.
   */
  protected updateAll(_all: Update[], _clipNorm: number | null): boolean {
    return false;
  }

  /**
   * Updates p in place from its gradient and slots; step counts from 1. Used
   * when updateAll() returns false (Adam and AdamW update through updateAll:
   * override weightDecayOf() there rather than update()).
   */
  protected abstract update(p: Tensor, g: Tensor, slots: Map<string, Tensor>, step: number, first: boolean): void;

  /** The hyperparameters, for the state dict and the config. */
  abstract get options(): Hyper;

  /** @internal Sets hyperparameters from a state dict (checked by the subclass). */
  protected abstract setOptions(o: Hyper): void;

  stateDict(): OptimizerStateDict {
    const tensors: Record<string, Tensor> = {};
    this.#slots.forEach((m, i) => m.forEach((t, s) => (tensors[`${i}.${s}`] = t)));
    return { type: this.constructor.name, options: { ...this.options, iterations: this.iterations }, steps: [...this.#steps], tensors };
  }

  /** Restores hyperparameters, step counts and slots (copied into this optimizer's own tensors). */
  loadStateDict(sd: OptimizerStateDict): void {
    const fn = `${this.#fn}.loadStateDict`;
    if (sd === null || typeof sd !== 'object') throw typeError(fn, `expected a state dict, got ${describe(sd)}`);
    if (sd.type !== this.constructor.name) throw rangeError(fn, `state dict is for ${describe(sd.type)}, not ${this.constructor.name}`);
    const n = this.#params.length;
    if (!Array.isArray(sd.steps) || sd.steps.length !== n)
      throw rangeError(fn, `state dict has ${Array.isArray(sd.steps) ? sd.steps.length : 'no'} parameter step counts, the optimizer has ${n} parameters`);
    sd.steps.forEach((s, i) => {
      if (!Number.isSafeInteger(s) || s < 0) throw rangeError(fn, `steps[${i}] must be an integer >= 0, got ${describe(s)}`);
      for (const slot of this.slotNames) {
        const t = sd.tensors?.[`${i}.${slot}`];
        if (s === 0) continue;
        if (!(t instanceof Tensor)) throw rangeError(fn, `missing state tensor '${i}.${slot}' for a parameter with ${s} steps`);
        if (shapeStr(t.shape) !== shapeStr(this.#params[i].shape))
          throw rangeError(fn, `state tensor '${i}.${slot}' has shape ${shapeStr(t.shape)} but params[${i}] has shape ${shapeStr(this.#params[i].shape)}`);
      }
    });
    const { iterations, ...opts } = sd.options ?? {};
    this.setOptions(opts);
    this.iterations = typeof iterations === 'number' ? iterations : 0;
    noGrad(() => {
      sd.steps.forEach((s, i) => {
        const slots = this.#slots[i];
        this.#steps[i] = s;
        for (const slot of this.slotNames) {
          const old = slots.get(slot);
          if (s === 0) {
            old?.dispose();
            slots.delete(slot);
            continue;
          }
          const t = sd.tensors[`${i}.${slot}`];
          if (old && old.device === this.#params[i].device) copyInto(old, t);
          else {
            old?.dispose();
            slots.set(slot, keep(t.device === this.#params[i].device ? clone(t) : t.to(this.#params[i].device)));
          }
        }
      });
    });
  }

  /** Frees the state tensors (the parameters are the model's). */
  dispose(): void {
    for (const m of this.#slots) {
      m.forEach((t) => t.dispose());
      m.clear();
    }
    this.#steps = this.#steps.map(() => 0);
  }
}
