// Training checkpoints: one safetensors file holding the model's parameters
// ('model.<name>'), the optimizer's state tensors ('optimizer.<i>.<slot>'),
// and, in "__metadata__" under 'cudagrad.checkpoint', JSON with the step, the
// default generator's state (cg.getRngState), the optimizer's hyperparameters
// and step counts, a scheduler's state and any caller data. Written
// atomically, so a crash mid-save keeps the previous checkpoint. Loading it
// into a fresh model and optimizer continues the run bit for bit.
import { getRngState, setRngState } from '../runtime';
import { checkOptions, describe, rangeError, typeError } from '../errors';
import { Module } from '../nn/module';
import { Optimizer } from '../optim/optimizer';
import type { OptimizerStateDict } from '../optim/optimizer';
import { LRScheduler } from '../optim/schedulers';
import type { SchedulerState } from '../optim/schedulers';
import { Tensor } from '../tensor';
import { readSafetensors, saveSafetensors } from './safetensors';

export const CHECKPOINT_KEY = 'cudagrad.checkpoint';

export interface CheckpointParts {
  model: Module;
  optimizer?: Optimizer | null;
  scheduler?: LRScheduler | null;
  /** Steps (or epochs) done; stored as given. */
  step?: number;
  /** JSON-serialisable caller data (e.g. the epoch, the history). */
  extra?: unknown;
}

export interface CheckpointInfo {
  step: number;
  extra: unknown;
  rng: { seed: bigint; offset: bigint };
}

interface Meta {
  version: 1;
  step: number;
  rng: { seed: string; offset: string };
  optimizer: Omit<OptimizerStateDict, 'tensors'> | null;
  scheduler: SchedulerState | null;
  extra: unknown;
}

/** Saves model, optimizer and scheduler state, the step and the RNG state to `file`, atomically. */
export function saveCheckpoint(file: string, parts: CheckpointParts): void {
  const fn = 'cudagrad.io.saveCheckpoint';
  const o = checkOptions(fn, parts, ['model', 'optimizer', 'scheduler', 'step', 'extra']) as Partial<CheckpointParts>;
  if (!(o.model instanceof Module)) throw typeError(fn, `model must be an nn.Module, got ${describe(o.model)}`);
  if (o.optimizer != null && !(o.optimizer instanceof Optimizer)) throw typeError(fn, `optimizer must be an optim.Optimizer, got ${describe(o.optimizer)}`);
  if (o.scheduler != null && !(o.scheduler instanceof LRScheduler)) throw typeError(fn, `scheduler must be an optim.LRScheduler, got ${describe(o.scheduler)}`);
  const step = o.step ?? 0;
  if (!Number.isSafeInteger(step) || step < 0) throw rangeError(fn, `step must be an integer >= 0, got ${describe(step)}`);
  const tensors: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(o.model.stateDict())) tensors[`model.${k}`] = t;
  let optimizer: Meta['optimizer'] = null;
  if (o.optimizer) {
    const { tensors: state, ...rest } = o.optimizer.stateDict();
    for (const [k, t] of Object.entries(state)) tensors[`optimizer.${k}`] = t;
    optimizer = rest;
  }
  const rng = getRngState();
  const meta: Meta = {
    version: 1,
    step,
    rng: { seed: rng.seed.toString(), offset: rng.offset.toString() },
    optimizer,
    scheduler: o.scheduler ? o.scheduler.stateDict() : null,
    extra: o.extra ?? null,
  };
  saveSafetensors(file, tensors, { [CHECKPOINT_KEY]: JSON.stringify(meta) });
}

export interface LoadCheckpointOptions {
  model: Module;
  optimizer?: Optimizer | null;
  scheduler?: LRScheduler | null;
  /** Restore the default generator's state (default true). */
  restoreRng?: boolean;
}

/** Loads a checkpoint into `model` (and `optimizer`, `scheduler`); returns the step and caller data. */
export function loadCheckpoint(file: string, into: LoadCheckpointOptions): CheckpointInfo {
  const fn = 'cudagrad.io.loadCheckpoint';
  const o = checkOptions(fn, into, ['model', 'optimizer', 'scheduler', 'restoreRng']) as Partial<LoadCheckpointOptions>;
  if (!(o.model instanceof Module)) throw typeError(fn, `model must be an nn.Module, got ${describe(o.model)}`);
  const { tensors, metadata } = readSafetensors(file);
  try {
    const raw = metadata[CHECKPOINT_KEY];
    if (raw === undefined) throw rangeError(fn, `${file}: not a cudagrad checkpoint (no '${CHECKPOINT_KEY}' metadata)`);
    let meta: Meta;
    try {
      meta = JSON.parse(raw) as Meta;
    } catch (e) {
      throw rangeError(fn, `${file}: checkpoint metadata is not valid JSON (${(e as Error).message})`);
    }
    if (meta?.version !== 1) throw rangeError(fn, `${file}: unsupported checkpoint version ${describe(meta?.version)}`);
    const model: Record<string, Tensor> = {};
    const optim: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(tensors)) {
      if (k.startsWith('model.')) model[k.slice(6)] = t;
      else if (k.startsWith('optimizer.')) optim[k.slice(10)] = t;
      else throw rangeError(fn, `${file}: unexpected tensor '${k}' in a checkpoint`);
    }
    o.model.loadStateDict(model);
    if (o.optimizer) {
      if (!meta.optimizer) throw rangeError(fn, `${file}: the checkpoint has no optimizer state`);
      o.optimizer.loadStateDict({ ...meta.optimizer, tensors: optim });
    }
    if (o.scheduler) {
      if (!meta.scheduler) throw rangeError(fn, `${file}: the checkpoint has no scheduler state`);
      o.scheduler.loadStateDict(meta.scheduler);
    }
    const rng = { seed: BigInt(meta.rng.seed), offset: BigInt(meta.rng.offset) };
    if (o.restoreRng !== false) setRngState(rng);
    return { step: meta.step, extra: meta.extra, rng };
  } finally {
    Object.values(tensors).forEach((t) => t.dispose());
  }
}
