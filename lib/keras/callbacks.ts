// fit() callbacks: any object with some of onTrainBegin, onEpochBegin,
// onBatchEnd, onEpochEnd, onTrainEnd (each may return a Promise, awaited), and
// the two built-ins: earlyStopping (stop when a monitored value stops
// improving, optionally restoring the best weights) and modelCheckpoint (save
// the model, by default only when the monitored value improves).
import { checkOptions, describe, rangeError, typeError } from '../errors';
import { clone } from '../ops/view';
import { noGrad } from '../autograd';
import { keep } from '../scope';
import type { Tensor } from '../tensor';
import type { Logs } from './progress';

/** What callbacks see of the model. */
export interface CallbackModel {
  stopTraining: boolean;
  stateDict(): Record<string, Tensor>;
  loadStateDict(dict: Record<string, Tensor>): unknown;
  save(dir: string): void;
}

export interface Callback {
  setModel?(model: CallbackModel): void;
  onTrainBegin?(logs: Logs): void | Promise<void>;
  onEpochBegin?(epoch: number, logs: Logs): void | Promise<void>;
  onBatchEnd?(batch: number, logs: Logs): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: Logs): void | Promise<void>;
  onTrainEnd?(logs: Logs): void | Promise<void>;
}

type Mode = 'auto' | 'min' | 'max';

// Whether `v` beats `best` by more than minDelta in the monitored direction.
function improver(fn: string, monitor: string, mode: unknown, minDelta: number): (v: number, best: number) => boolean {
  if (mode !== 'auto' && mode !== 'min' && mode !== 'max') throw typeError(fn, `mode must be 'auto', 'min' or 'max', got ${describe(mode)}`);
  const max = mode === 'max' || (mode === 'auto' && /acc/.test(monitor));
  return max ? (v, best) => v - minDelta > best : (v, best) => v + minDelta < best;
}

function monitored(fn: string, monitor: string, logs: Logs): number {
  const v = logs[monitor];
  if (typeof v !== 'number') {
    const hint = monitor.startsWith('val_') ? "; pass validationData or validationSplit to fit, or monitor 'loss'" : '';
    throw rangeError(fn, `'${monitor}' is not in the epoch logs (available: ${Object.keys(logs).join(', ') || 'none'})${hint}`);
  }
  return v;
}

export interface EarlyStoppingConfig {
  /** default 'val_loss'. */
  monitor?: string;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Epochs without improvement before stopping (default 0). */
  patience?: number;
  /** default 'auto': 'max' for accuracies, else 'min'. */
  mode?: Mode;
  /** At the end, load the weights of the best epoch (default false). */
  restoreBestWeights?: boolean;
}

export class EarlyStopping implements Callback {
  readonly monitor: string;
  readonly patience: number;
  readonly restoreBestWeights: boolean;
  /** The epoch training stopped at (0: it did not stop early). */
  stoppedEpoch = 0;
  best = NaN;
  bestEpoch = -1;
  #wait = 0;
  #better: (v: number, best: number) => boolean;
  #model: CallbackModel | null = null;
  #bestWeights: Record<string, Tensor> | null = null;

  constructor(cfg: EarlyStoppingConfig = {}) {
    const fn = 'keras.earlyStopping';
    const o = checkOptions(fn, cfg, ['monitor', 'minDelta', 'patience', 'mode', 'restoreBestWeights']) as EarlyStoppingConfig;
    this.monitor = o.monitor ?? 'val_loss';
    if (typeof this.monitor !== 'string') throw typeError(fn, `monitor must be a string, got ${describe(this.monitor)}`);
    const minDelta = o.minDelta ?? 0;
    if (typeof minDelta !== 'number' || !(minDelta >= 0)) throw rangeError(fn, `minDelta must be a number >= 0, got ${describe(minDelta)}`);
    this.patience = o.patience ?? 0;
    if (!Number.isSafeInteger(this.patience) || this.patience < 0) throw rangeError(fn, `patience must be an integer >= 0, got ${describe(this.patience)}`);
    this.restoreBestWeights = o.restoreBestWeights === true;
    this.#better = improver(fn, this.monitor, o.mode ?? 'auto', minDelta);
  }

  setModel(model: CallbackModel): void {
    this.#model = model;
  }

  onTrainBegin(): void {
    this.#wait = 0;
    this.best = NaN;
    this.bestEpoch = -1;
    this.stoppedEpoch = 0;
    this.#drop();
  }

  onEpochEnd(epoch: number, logs: Logs): void {
    const v = monitored('keras.earlyStopping', this.monitor, logs);
    if (Number.isNaN(this.best) || this.#better(v, this.best)) {
      this.best = v;
      this.bestEpoch = epoch;
      this.#wait = 0;
      if (this.restoreBestWeights && this.#model) {
        this.#drop();
        this.#bestWeights = noGrad(() => Object.fromEntries(Object.entries(this.#model!.stateDict()).map(([k, t]) => [k, keep(clone(t))])));
      }
      return;
    }
    this.#wait++;
    if (this.#wait >= this.patience && this.#model) {
      this.stoppedEpoch = epoch;
      this.#model.stopTraining = true;
    }
  }

  onTrainEnd(): void {
    if (this.#bestWeights && this.#model) this.#model.loadStateDict(this.#bestWeights);
    this.#drop();
  }

  #drop(): void {
    if (this.#bestWeights) Object.values(this.#bestWeights).forEach((t) => t.dispose());
    this.#bestWeights = null;
  }
}

export interface ModelCheckpointConfig {
  /** Folder for model.save(); '{epoch}' is replaced by the 1-based epoch. */
  path: string;
  /** default 'val_loss'. */
  monitor?: string;
  /** Save only when the monitored value improves (default true). */
  saveBestOnly?: boolean;
  mode?: Mode;
}

export class ModelCheckpoint implements Callback {
  readonly path: string;
  readonly monitor: string;
  readonly saveBestOnly: boolean;
  best = NaN;
  /** Epochs (0-based) at which the model was saved. */
  readonly saved: number[] = [];
  #better: (v: number, best: number) => boolean;
  #model: CallbackModel | null = null;

  constructor(cfg: ModelCheckpointConfig) {
    const fn = 'keras.modelCheckpoint';
    const o = checkOptions(fn, cfg, ['path', 'monitor', 'saveBestOnly', 'mode']) as Partial<ModelCheckpointConfig> as ModelCheckpointConfig;
    if (typeof o.path !== 'string' || o.path === '') throw typeError(fn, `path must be a non-empty string, got ${describe(o.path)}`);
    this.path = o.path;
    this.monitor = o.monitor ?? 'val_loss';
    this.saveBestOnly = o.saveBestOnly !== false;
    this.#better = improver(fn, this.monitor, o.mode ?? 'auto', 0);
  }

  setModel(model: CallbackModel): void {
    this.#model = model;
  }

  onTrainBegin(): void {
    this.best = NaN;
  }

  onEpochEnd(epoch: number, logs: Logs): void {
    if (this.saveBestOnly) {
      const v = monitored('keras.modelCheckpoint', this.monitor, logs);
      if (!Number.isNaN(this.best) && !this.#better(v, this.best)) return;
      this.best = v;
    }
    this.#model?.save(this.path.replace(/\{epoch\}/g, String(epoch + 1)));
    this.saved.push(epoch);
  }
}

export const earlyStopping = (cfg: EarlyStoppingConfig = {}): EarlyStopping => new EarlyStopping(cfg);
export const modelCheckpoint = (cfg: ModelCheckpointConfig): ModelCheckpoint => new ModelCheckpoint(cfg);
