// The Keras-style loops behind Sequential.fit / evaluate / predict. Each
// training step runs inside tidy(): batch gather (an embedding lookup of the
// sample rows), forward, loss, backward, optimizer step; only the parameters,
// their gradients and the optimizer state outlive it, so memory stays flat.
// Shuffling draws from the library's Philox generator (cg.manualSeed makes it
// repeat; checkpoints carry its state).
import { noGrad } from '../autograd';
import { rand, tensor } from '../creation';
import type { NestedArray } from '../creation';
import { checkOptions, describe, rangeError, shapeStr, typeError } from '../errors';
import { embedding } from '../ops/embedding';
import { crossEntropy } from '../ops/loss';
import { argmax, sum } from '../ops/reduce';
import { eq } from '../ops/compare';
import { add, mul } from '../ops/elementwise';
import { concat } from '../ops/shape';
import { keep, tidy } from '../scope';
import { Tensor } from '../tensor';
import type { Callback } from './callbacks';
import type { Sequential } from './model';
import { Logs, Progress, ProgressStream } from './progress';

export type XData = Tensor | NestedArray | Float32Array;
export type YData = Tensor | Int32Array | NestedArray;

export interface FitOptions {
  /** default 1. */
  epochs?: number;
  /** default 32. */
  batchSize?: number;
  /** Fraction of the samples (the last ones, before shuffling) held out for validation. */
  validationSplit?: number;
  /** [x, y] to evaluate after each epoch (instead of validationSplit). */
  validationData?: [XData, YData];
  /** Reshuffle the training samples every epoch (default true). */
  shuffle?: boolean;
  callbacks?: Callback | Callback[];
  /** 0 silent, 1 progress bar (plain lines off a terminal), 2 one line per epoch (default 1). */
  verbose?: 0 | 1 | 2;
  /** Epoch to start at (resuming: the epochs before it count as done). */
  initialEpoch?: number;
  /** Where progress goes (default process.stdout). */
  stream?: ProgressStream;
}

export interface EvaluateOptions {
  /** default 32. */
  batchSize?: number;
}

export interface PredictOptions {
  /** default 32. */
  batchSize?: number;
}

export interface History {
  /** The epochs run (0-based). */
  epoch: number[];
  /** Per-epoch values: loss, accuracy, val_loss, val_accuracy. */
  history: Record<string, number[]>;
  params: { epochs: number; steps: number; samples: number; batchSize: number };
}

interface Data {
  x: Tensor;
  y: Tensor;
  labels: Int32Array | null;
  owned: Tensor[];
}

const posInt = (fn: string, v: unknown, name: string, dflt: number, min = 1): number => {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw rangeError(fn, `${name} must be an integer >= ${min}, got ${describe(v)}`);
  return v;
};

function toX(fn: string, model: Sequential, x: unknown, owned: Tensor[]): Tensor {
  let t: Tensor;
  if (x instanceof Tensor) t = x;
  else if (Array.isArray(x) || x instanceof Float32Array) owned.push((t = tensor(x as NestedArray)));
  else throw typeError(fn, `x must be a Tensor or an array of samples, got ${describe(x)}`);
  if (t.dtype !== 'float32') throw typeError(fn, `x must be float32, got ${t.describe()}`);
  if (t.ndim < 2) throw rangeError(fn, `x must have a batch dimension and features, (N, ...), got shape ${shapeStr(t.shape)}`);
  const want = model.inputShape;
  if (want && shapeStr(t.shape.slice(1)) !== shapeStr(want))
    throw rangeError(fn, `x has shape ${shapeStr(t.shape)} but the model takes samples of shape ${shapeStr(want)} (x: [N, ${want.join(', ')}])`);
  return t;
}

// Checks x and y against each other, the model and the loss.
function data(fn: string, model: Sequential, x: unknown, y: unknown): Data {
  const owned: Tensor[] = [];
  try {
    const xt = toX(fn, model, x, owned);
    if (!model.built) model.build([...xt.shape.slice(1)]);
    const sparse = model.loss === 'sparse_categorical_crossentropy';
    let yt: Tensor;
    if (y instanceof Tensor) yt = y;
    else if (y instanceof Int32Array || Array.isArray(y)) owned.push((yt = tensor(y as NestedArray, { dtype: sparse ? 'int32' : 'float32' })));
    else throw typeError(fn, `y must be a Tensor or an array, got ${describe(y)}`);
    if (yt.shape[0] !== xt.shape[0] || yt.ndim === 0)
      throw rangeError(fn, `x has ${xt.shape[0]} samples (shape ${shapeStr(xt.shape)}) but y has ${yt.ndim ? yt.shape[0] : 'no batch dim'} (shape ${shapeStr(yt.shape)}); the first dims must match`);
    const out = model.outputShape!;
    let labels: Int32Array | null = null;
    if (sparse) {
      if (yt.dtype !== 'int32')
        throw typeError(fn, `y must be int32 class indices for sparse_categorical_crossentropy, got ${yt.describe()}; make it with cg.tensor(labels, { dtype: 'int32' })`);
      if (yt.ndim !== 1) throw rangeError(fn, `y must be 1-D class indices (N), got shape ${shapeStr(yt.shape)}`);
      if (out.length !== 1) throw rangeError(fn, `sparse_categorical_crossentropy needs outputs (N, classes), the model gives ${shapeStr([xt.shape[0], ...out])}`);
      labels = yt.toArray() as Int32Array;
      const bad = labels.findIndex((v) => v < 0 || v >= out[0]);
      if (bad >= 0) throw rangeError(fn, `y[${bad}] = ${labels[bad]} is not a class index in [0, ${out[0]})`);
    } else if (yt.dtype !== 'float32' || shapeStr(yt.shape.slice(1)) !== shapeStr(out)) {
      throw typeError(fn, `y must be float32 targets of shape ${shapeStr([xt.shape[0], ...out])} for ${model.loss}, got ${yt.describe()}`);
    }
    return { x: xt, y: yt, labels, owned };
  } catch (e) {
    owned.forEach((t) => t.dispose());
    throw e;
  }
}

// Rows `idx` of x (N, ...) as a batch (B, ...): an embedding lookup over the flattened samples.
function rows(x: Tensor, idx: Tensor): Tensor {
  const flat = x.ndim === 2 ? x : x.reshape(x.shape[0], -1);
  const b = embedding(idx, flat);
  return x.ndim === 2 ? b : b.reshape([idx.size, ...x.shape.slice(1)]);
}

// Loss (mean over the batch) and the number of correct predictions (a float32 scalar on the
// data's device, null without the accuracy metric): nothing is read back here.
function batchLoss(model: Sequential, d: Data, idx: Int32Array, accuracy: boolean): { loss: Tensor; correct: Tensor | null } {
  const device = d.x.device;
  const it = tensor(idx, { device });
  const xb = rows(d.x, it);
  if (d.labels) {
    const yb = tensor(Int32Array.from(idx, (i) => d.labels![i]), { device });
    const logits = model.logits(xb);
    const loss = crossEntropy(logits, yb);
    const correct = accuracy ? noGrad(() => sum(eq(argmax(logits, 1), yb))) : null;
    return { loss, correct };
  }
  const diff = model.forward(xb).sub(rows(d.y, it));
  return { loss: diff.mul(diff).mean(), correct: null };
}

// A permutation of [0, n) from the Philox generator (Fisher-Yates over cg.rand uniforms).
function permutation(n: number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  if (n < 2) return p;
  const u = tidy(() => rand([n]).toArray());
  for (let i = n - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(u[i] * (i + 1)));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

// Running sums of a pass over the data, kept on the data's device: [loss * samples, correct
// predictions]. Adding a batch launches a few tiny kernels and reads nothing back; logs() is one
// read (one host sync on a GPU), done only where a value is needed: the progress bar's redraw
// (at most every 50 ms), onBatchEnd callbacks, the end of the pass.
class Running {
  #sums: Tensor | null = null;
  seen = 0;
  constructor(readonly accuracy: boolean) {}

  add(loss: Tensor, correct: Tensor | null, n: number): void {
    const next = noGrad(() =>
      tidy(() => {
        const parts = [mul(loss, n).reshape(1)];
        if (correct) parts.push(correct.reshape(1));
        const row = parts.length > 1 ? concat(parts, 0) : parts[0];
        return this.#sums ? add(this.#sums, row) : row;
      }),
    );
    this.#sums?.dispose();
    this.#sums = keep(next);
    this.seen += n;
  }

  logs(): Logs {
    const v = this.#sums ? this.#sums.toArray() : [NaN, NaN];
    const logs: Logs = { loss: this.seen ? v[0] / this.seen : NaN };
    if (this.accuracy) logs.accuracy = this.seen ? v[1] / this.seen : NaN;
    return logs;
  }

  dispose(): void {
    this.#sums?.dispose();
    this.#sums = null;
  }
}

function evaluateData(model: Sequential, d: Data, batchSize: number): Logs {
  const n = d.x.shape[0];
  const wasTraining = model.training;
  model.eval();
  const running = new Running(model.metrics.length > 0);
  try {
    noGrad(() => {
      for (let s = 0; s < n; s += batchSize) {
        const idx = Int32Array.from({ length: Math.min(batchSize, n - s) }, (_, i) => s + i);
        tidy(() => {
          const r = batchLoss(model, d, idx, running.accuracy);
          running.add(r.loss, r.correct, idx.length);
        });
      }
    });
    return running.logs();
  } finally {
    running.dispose();
    model.train(wasTraining);
  }
}

function compiled(fn: string, model: Sequential): void {
  if (!model.optimizer || !model.loss) throw rangeError(fn, 'the model is not compiled: call model.compile({ optimizer, loss, metrics }) first');
}

export function evaluateModel(model: Sequential, x: XData, y: YData, opts: EvaluateOptions = {}): Logs {
  const fn = 'keras.Sequential.evaluate';
  compiled(fn, model);
  const o = checkOptions(fn, opts, ['batchSize']);
  const bs = posInt(fn, o.batchSize, 'batchSize', 32);
  const d = data(fn, model, x, y);
  try {
    return evaluateData(model, d, bs);
  } finally {
    d.owned.forEach((t) => t.dispose());
  }
}

export function predictModel(model: Sequential, x: XData, opts: PredictOptions = {}): Tensor {
  const fn = 'keras.Sequential.predict';
  const o = checkOptions(fn, opts, ['batchSize']);
  const bs = posInt(fn, o.batchSize, 'batchSize', 32);
  const owned: Tensor[] = [];
  const xt = toX(fn, model, x, owned);
  if (!model.built) model.build([...xt.shape.slice(1)]);
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() =>
      tidy(() => {
        const n = xt.shape[0];
        if (n <= bs) return model.forward(xt);
        const outs: Tensor[] = [];
        for (let s = 0; s < n; s += bs) outs.push(model.forward(xt.slice(0, s, Math.min(n, s + bs))));
        return concat(outs, 0);
      }),
    );
  } finally {
    model.train(wasTraining);
    owned.forEach((t) => t.dispose());
  }
}

async function call(cbs: Callback[], f: (c: Callback) => void | Promise<void> | undefined): Promise<void> {
  for (const c of cbs) {
    const r = f(c);
    if (r && typeof (r as Promise<void>).then === 'function') await r;
  }
}

export async function fitModel(model: Sequential, x: XData, y: YData, opts: FitOptions = {}): Promise<History> {
  const fn = 'keras.Sequential.fit';
  compiled(fn, model);
  const o = checkOptions(fn, opts, ['epochs', 'batchSize', 'validationSplit', 'validationData', 'shuffle', 'callbacks', 'verbose', 'initialEpoch', 'stream']) as FitOptions;
  const epochs = posInt(fn, o.epochs, 'epochs', 1, 0);
  const bs = posInt(fn, o.batchSize, 'batchSize', 32);
  const initialEpoch = posInt(fn, o.initialEpoch, 'initialEpoch', 0, 0);
  const verbose = o.verbose ?? 1;
  if (verbose !== 0 && verbose !== 1 && verbose !== 2) throw typeError(fn, `verbose must be 0, 1 or 2, got ${describe(verbose)}`);
  const split = o.validationSplit ?? 0;
  if (typeof split !== 'number' || !(split >= 0 && split < 1)) throw rangeError(fn, `validationSplit must be a number in [0, 1), got ${describe(split)}`);
  if (split > 0 && o.validationData) throw typeError(fn, 'pass validationSplit or validationData, not both');
  if (o.validationData !== undefined && (!Array.isArray(o.validationData) || o.validationData.length !== 2))
    throw typeError(fn, `validationData must be [x, y], got ${describe(o.validationData)}`);
  if (o.shuffle !== undefined && typeof o.shuffle !== 'boolean') throw typeError(fn, `shuffle must be a boolean, got ${describe(o.shuffle)}`);
  const cbs = o.callbacks === undefined ? [] : Array.isArray(o.callbacks) ? o.callbacks : [o.callbacks];
  cbs.forEach((c, i) => {
    if (c === null || typeof c !== 'object') throw typeError(fn, `callbacks[${i}] must be an object with onEpochEnd, onBatchEnd, ... methods, got ${describe(c)}`);
    for (const hook of ['setModel', 'onTrainBegin', 'onEpochBegin', 'onBatchEnd', 'onEpochEnd', 'onTrainEnd'] as const) {
      const h = (c as Record<string, unknown>)[hook];
      if (h !== undefined && typeof h !== 'function') throw typeError(fn, `callbacks[${i}].${hook} must be a function, got ${describe(h)}`);
    }
  });

  const all = data(fn, model, x, y);
  const owned = [...all.owned];
  let train = all;
  let val: Data | null = null;
  try {
    if (split > 0) {
      const n = all.x.shape[0];
      const cut = n - Math.floor(n * split);
      if (cut < 1 || cut === n) throw rangeError(fn, `validationSplit ${split} of ${n} samples leaves ${cut} to train on and ${n - cut} to validate`);
      const part = (lo: number, hi: number): Data => {
        const px = noGrad(() => all.x.slice(0, lo, hi));
        const py = noGrad(() => all.y.slice(0, lo, hi));
        owned.push(px, py);
        return { x: px, y: py, labels: all.labels && all.labels.slice(lo, hi), owned: [] };
      };
      train = part(0, cut);
      val = part(cut, n);
    } else if (o.validationData) {
      val = data(`${fn} (validationData)`, model, o.validationData[0], o.validationData[1]);
      owned.push(...val.owned);
    }
    const n = train.x.shape[0];
    if (n === 0) throw rangeError(fn, `x has no samples (shape ${shapeStr(train.x.shape)})`);
    const steps = Math.ceil(n / bs);
    const history: History = { epoch: [], history: {}, params: { epochs, steps, samples: n, batchSize: bs } };
    const progress = new Progress(verbose, o.stream ?? process.stdout);
    const accuracy = model.metrics.length > 0;
    const perBatch = cbs.some((c) => typeof c.onBatchEnd === 'function');
    const opt = model.optimizer!;
    model.stopTraining = false;
    cbs.forEach((c) => c.setModel?.(model));
    await call(cbs, (c) => c.onTrainBegin?.({}));
    for (let epoch = initialEpoch; epoch < epochs && !model.stopTraining; epoch++) {
      await call(cbs, (c) => c.onEpochBegin?.(epoch, {}));
      model.train();
      const order = o.shuffle === false ? Int32Array.from({ length: n }, (_, i) => i) : permutation(n);
      progress.epochBegin(epoch, epochs, steps);
      const running = new Running(accuracy);
      let logs: Logs;
      try {
        for (let b = 0; b < steps; b++) {
          const idx = order.subarray(b * bs, Math.min(n, (b + 1) * bs));
          const batch = tidy(() => {
            opt.zeroGrad();
            const { loss, correct } = batchLoss(model, train, idx, accuracy);
            loss.backward();
            opt.step();
            running.add(loss, correct, idx.length);
            return perBatch ? loss.item() : NaN; // read only for onBatchEnd callbacks
          });
          let read: Logs | undefined; // at most one read per batch, shared by the bar and the callbacks
          const now = () => (read ??= running.logs());
          progress.batchEnd(b + 1, now);
          if (perBatch) await call(cbs, (c) => c.onBatchEnd?.(b, { ...now(), batchLoss: batch, size: idx.length }));
        }
        logs = running.logs();
      } finally {
        running.dispose();
      }
      if (val) for (const [k, v] of Object.entries(evaluateData(model, val, bs))) logs[`val_${k}`] = v;
      progress.epochEnd(logs);
      history.epoch.push(epoch);
      for (const [k, v] of Object.entries(logs)) (history.history[k] ??= []).push(v);
      await call(cbs, (c) => c.onEpochEnd?.(epoch, logs));
      await new Promise((r) => setImmediate(r));
    }
    await call(cbs, (c) => c.onTrainEnd?.({}));
    return history;
  } finally {
    model.train();
    owned.forEach((t) => t.dispose());
  }
}
