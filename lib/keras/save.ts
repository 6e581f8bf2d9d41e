// Saving Keras-style models: `dir`/config.json (the layers' configs, the input
// shape and the compile settings) plus `dir`/model.safetensors (the weights),
// each written atomically; loadModel(dir) rebuilds the same model, bit for
// bit, without disturbing the random generator. Training checkpoints add the
// optimizer state, the RNG state and the epoch (io.saveCheckpoint), with the
// model config inside so a mismatched model is refused.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { describe, rangeError, typeError } from '../errors';
import { loadCheckpoint, saveCheckpoint } from '../io/checkpoint';
import { writeFileAtomic } from '../io/atomic';
import { readSafetensors, saveSafetensors } from '../io/safetensors';
import { Adam, AdamW } from '../optim/adam';
import { SGD } from '../optim/sgd';
import type { Hyper, Optimizer } from '../optim/optimizer';
import type { LRScheduler } from '../optim/schedulers';
import { getRngState, setRngState } from '../runtime';
import { layerFromConfig } from './layers';
import { Sequential } from './model';
import type { LossName } from './model';

export const FORMAT = 'cudagrad.keras';

export interface ModelConfig {
  format: typeof FORMAT;
  version: 1;
  className: 'Sequential';
  name: string;
  inputShape: number[] | null;
  layers: { className: string; config: Record<string, unknown> }[];
  compile: { loss: LossName; metrics: string[]; optimizer: { type: string; options: Hyper } } | null;
}

export function modelConfig(model: Sequential): ModelConfig {
  const opt = model.optimizer;
  return {
    format: FORMAT,
    version: 1,
    className: 'Sequential',
    name: model.name,
    inputShape: model.inputShape,
    layers: model.layers.map((l) => ({ className: l.className, config: l.getConfig() })),
    compile: opt && model.loss ? { loss: model.loss, metrics: [...model.metrics], optimizer: { type: opt.constructor.name, options: opt.options } } : null,
  };
}

function optimizerFrom(type: string, options: Hyper): Optimizer {
  const o = options as Record<string, never>;
  if (type === 'Adam') return new Adam([], o);
  if (type === 'AdamW') return new AdamW([], o);
  if (type === 'SGD') return new SGD([], o);
  throw typeError('keras.loadModel', `unknown optimizer type ${describe(type)} in the config`);
}

/** A model (unbuilt weights drawn, then the generator state restored) from its config. */
export function modelFromConfig(cfg: ModelConfig, where = 'config'): Sequential {
  const fn = 'keras.loadModel';
  if (cfg === null || typeof cfg !== 'object' || cfg.format !== FORMAT) throw rangeError(fn, `${where}: not a cudagrad Keras model config (format ${describe(cfg?.format)})`);
  if (cfg.version !== 1) throw rangeError(fn, `${where}: unsupported config version ${describe(cfg.version)}`);
  if (!Array.isArray(cfg.layers)) throw rangeError(fn, `${where}: 'layers' is not an array`);
  const rng = getRngState();
  try {
    const model = new Sequential(cfg.layers.map((l) => layerFromConfig(l?.className, l?.config)), { name: cfg.name });
    if (cfg.inputShape && !model.built) model.build(cfg.inputShape);
    if (cfg.compile) {
      model.compile({ loss: cfg.compile.loss, metrics: cfg.compile.metrics, optimizer: optimizerFrom(cfg.compile.optimizer.type, cfg.compile.optimizer.options) });
    }
    return model;
  } finally {
    setRngState(rng);
  }
}

export function saveModel(model: Sequential, dir: string): void {
  const fn = 'keras.Sequential.save';
  if (typeof dir !== 'string' || dir === '') throw typeError(fn, `dir must be a non-empty string, got ${describe(dir)}`);
  if (!model.built) throw rangeError(fn, 'the model is not built yet (give the first layer an inputShape, or fit/predict once)');
  fs.mkdirSync(dir, { recursive: true });
  saveSafetensors(path.join(dir, 'model.safetensors'), model.stateDict(), { format: FORMAT });
  writeFileAtomic(path.join(dir, 'config.json'), [Buffer.from(`${JSON.stringify(modelConfig(model), null, 2)}\n`)]);
}

/** Loads a model written by model.save(dir): same layers, same weights, same compile settings. */
export function loadModel(dir: string): Sequential {
  const fn = 'keras.loadModel';
  if (typeof dir !== 'string' || dir === '') throw typeError(fn, `dir must be a non-empty string, got ${describe(dir)}`);
  const cfgFile = path.join(dir, 'config.json');
  let cfg: ModelConfig;
  try {
    cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as ModelConfig;
  } catch (e) {
    throw rangeError(fn, `${cfgFile}: cannot read the model config (${(e as Error).message})`);
  }
  const model = modelFromConfig(cfg, cfgFile);
  const { tensors } = readSafetensors(path.join(dir, 'model.safetensors'));
  try {
    model.loadStateDict(tensors);
  } finally {
    Object.values(tensors).forEach((t) => t.dispose());
  }
  return model;
}

export interface CheckpointState {
  /** Epochs done. */
  epoch: number;
  /** A learning-rate scheduler whose state goes along. */
  scheduler?: LRScheduler | null;
  /** JSON-serialisable caller data (e.g. the history). */
  extra?: unknown;
}

export function checkpointModel(model: Sequential, file: string, state: CheckpointState): void {
  const fn = 'keras.Sequential.saveCheckpoint';
  if (!model.built || !model.optimizer) throw rangeError(fn, 'the model must be built and compiled');
  if (state === null || typeof state !== 'object' || !Number.isSafeInteger(state.epoch) || state.epoch < 0)
    throw rangeError(fn, `state.epoch must be an integer >= 0, got ${describe(state?.epoch)}`);
  const extra = { config: modelConfig(model), data: state.extra ?? null };
  saveCheckpoint(file, { model, optimizer: model.optimizer, scheduler: state.scheduler ?? null, step: state.epoch, extra });
}

export function resumeModel(model: Sequential, file: string, opts: { scheduler?: LRScheduler | null } = {}): { epoch: number; extra: unknown } {
  const fn = 'keras.Sequential.loadCheckpoint';
  if (!model.built || !model.optimizer) throw rangeError(fn, 'the model must be built and compiled');
  const info = loadCheckpoint(file, { model, optimizer: model.optimizer, scheduler: opts.scheduler ?? null });
  const saved = (info.extra as { config?: ModelConfig; data?: unknown } | null) ?? {};
  const layers = (c?: ModelConfig) => JSON.stringify(c?.layers ?? null);
  if (layers(saved.config) !== layers(modelConfig(model))) throw rangeError(fn, `${file}: the checkpoint was written by a model with different layers`);
  return { epoch: info.step, extra: saved.data ?? null };
}
