// keras.sequential([...layers]): a stack of Keras-style layers as one
// nn.Module, with compile / fit / evaluate / predict / save. Parameters are
// named '<layer name>.<param>' (dense.weight, dense_1.bias, ...). The model is
// built (parameters created) as soon as the input shape is known: from the
// first layer's inputShape, or from the data of the first fit/predict.
import { checkOptions, describe, rangeError, shapeStr, typeError } from '../errors';
import { Module } from '../nn/module';
import { Optimizer } from '../optim/optimizer';
import { Adam, AdamW } from '../optim/adam';
import { SGD } from '../optim/sgd';
import { Tensor } from '../tensor';
import type { Callback, CallbackModel } from './callbacks';
import { Layer } from './layers';
import type { Logs } from './progress';
import { evaluateModel, fitModel, predictModel } from './training';
import type { EvaluateOptions, FitOptions, History, PredictOptions, XData, YData } from './training';
import { checkpointModel, modelConfig, resumeModel, saveModel } from './save';
import type { CheckpointState, ModelConfig } from './save';
import type { LRScheduler } from '../optim/schedulers';

export type LossName = 'sparse_categorical_crossentropy' | 'mse' | 'mean_squared_error';
export type OptimizerName = 'adam' | 'adamw' | 'sgd';

export interface CompileConfig {
  /** 'adam' (lr 1e-3), 'adamw', 'sgd' (lr 0.01), or an optim.Optimizer (made with the model's parameters, or with [] to attach them). */
  optimizer: OptimizerName | Optimizer;
  /** sparse_categorical_crossentropy takes int32 class indices; a final softmax is fused into it. */
  loss: LossName;
  /** ['accuracy'] (also 'acc', 'sparse_categorical_accuracy') or []. */
  metrics?: string[];
}

export interface SequentialConfig {
  name?: string;
}

const LOSSES = ['sparse_categorical_crossentropy', 'mse', 'mean_squared_error'];
const ACCURACY = ['accuracy', 'acc', 'sparse_categorical_accuracy'];

export class Sequential extends Module implements CallbackModel {
  readonly className = 'Sequential';
  readonly layers: Layer[] = [];
  readonly name: string;
  /** Set by a callback (e.g. earlyStopping) to end fit() after the current epoch. */
  stopTraining = false;
  optimizer: Optimizer | null = null;
  loss: LossName | null = null;
  metrics: string[] = [];
  #inputShape: number[] | null = null;

  constructor(layers: Layer[] = [], cfg: SequentialConfig = {}) {
    super();
    const fn = 'keras.sequential';
    const o = checkOptions(fn, cfg, ['name']);
    if (!Array.isArray(layers)) throw typeError(fn, `layers must be an array of layers (keras.dense(...), ...), got ${describe(layers)}`);
    this.name = typeof o.name === 'string' ? o.name : 'sequential';
    layers.forEach((l) => this.add(l));
  }

  /** Appends a layer (built at once when the model already is). */
  add(layer: Layer): this {
    const fn = 'keras.Sequential.add';
    if (!(layer instanceof Layer)) throw typeError(fn, `expected a layer (keras.dense(...), keras.flatten(), keras.dropout(...)), got ${describe(layer)}`);
    if (this.layers.includes(layer)) throw rangeError(fn, `layer '${layer.name}' is already in the model`);
    const names = new Set(this.layers.map((l) => l.name));
    if (names.has(layer.name)) {
      const base = layer.name.replace(/_\d+$/, '');
      let i = 1;
      while (names.has(`${base}_${i}`)) i++;
      layer.name = `${base}_${i}`;
    }
    if (this.layers.length && layer.inputShape)
      throw rangeError(fn, `only the first layer may have an inputShape (layer ${this.layers.length}, '${layer.name}')`);
    this.layers.push(layer);
    this.registerModule(layer.name, layer);
    if (this.built) layer.build(this.layers[this.layers.length - 2]?.outputShape ?? this.#inputShape!);
    else if (this.layers.length === 1 && layer.inputShape) this.build(layer.inputShape);
    return this;
  }

  get built(): boolean {
    return this.#inputShape !== null;
  }

  /** Shape of one input sample (null until built). */
  get inputShape(): number[] | null {
    return this.#inputShape && [...this.#inputShape];
  }

  /** Shape of one output sample (null until built). */
  get outputShape(): number[] | null {
    return this.built && this.layers.length ? [...this.layers[this.layers.length - 1].outputShape!] : this.inputShape;
  }

  /** Creates every layer's parameters for samples of `inputShape`. */
  build(inputShape: number[]): void {
    const fn = 'keras.Sequential.build';
    if (this.built) throw rangeError(fn, `model is already built for inputs ${shapeStr(this.#inputShape!)}`);
    if (!Array.isArray(inputShape) || !inputShape.length || !inputShape.every((d) => Number.isSafeInteger(d) && d > 0))
      throw rangeError(fn, `inputShape must be a non-empty array of positive integers, got ${JSON.stringify(inputShape)}`);
    if (!this.layers.length) throw rangeError(fn, 'the model has no layers');
    let s = [...inputShape];
    for (const l of this.layers) s = l.build(s);
    this.#inputShape = [...inputShape];
    if (this.optimizer && !this.optimizer.params.length) this.optimizer.setParams(this.parameters());
  }

  /** The model's output (with a final softmax applied). */
  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, l) => l.forward(h), x);
  }

  /** The output before a final softmax (what the fused loss takes). */
  logits(x: Tensor): Tensor {
    const n = this.layers.length;
    return this.layers.reduce((h, l, i) => (i === n - 1 ? l.forwardLogits(h) : l.forward(h)), x);
  }

  /** Sets the optimizer, the loss and the metrics for fit and evaluate. */
  compile(cfg: CompileConfig): void {
    const fn = 'keras.Sequential.compile';
    const o = checkOptions(fn, cfg, ['optimizer', 'loss', 'metrics']) as Partial<CompileConfig>;
    if (typeof o.loss !== 'string' || !LOSSES.includes(o.loss)) throw typeError(fn, `loss must be one of ${LOSSES.join(', ')}, got ${describe(o.loss)}`);
    const metrics = o.metrics ?? [];
    if (!Array.isArray(metrics)) throw typeError(fn, `metrics must be an array such as ['accuracy'], got ${describe(metrics)}`);
    for (const m of metrics) if (!ACCURACY.includes(m)) throw typeError(fn, `unknown metric ${describe(m)} (supported: ${ACCURACY.join(', ')})`);
    if (metrics.length && o.loss !== 'sparse_categorical_crossentropy') throw typeError(fn, `metric 'accuracy' needs loss 'sparse_categorical_crossentropy', got '${o.loss}'`);
    const last = this.layers[this.layers.length - 1] as { activation?: string } | undefined;
    if (o.loss === 'sparse_categorical_crossentropy' && last?.activation && !['softmax', 'linear'].includes(last.activation))
      throw typeError(fn, `sparse_categorical_crossentropy needs a final softmax (fused with the loss) or linear activation (logits), got '${last.activation}'`);
    let opt: Optimizer;
    if (o.optimizer instanceof Optimizer) {
      opt = o.optimizer;
      const mine = new Set(this.parameters());
      if (opt.params.length && (opt.params.length !== mine.size || !opt.params.every((p) => mine.has(p))))
        throw rangeError(fn, "the optimizer holds tensors that are not this model's parameters (make it with model.parameters(), or with [] to attach them)");
    } else if (o.optimizer === 'adam') opt = new Adam([]);
    else if (o.optimizer === 'adamw') opt = new AdamW([]);
    else if (o.optimizer === 'sgd') opt = new SGD([]);
    else throw typeError(fn, `optimizer must be 'adam', 'adamw', 'sgd' or an optim.Optimizer, got ${describe(o.optimizer)}`);
    if (this.built && !opt.params.length) opt.setParams(this.parameters());
    this.optimizer = opt;
    this.loss = o.loss as LossName;
    this.metrics = metrics.length ? ['accuracy'] : [];
  }

  /** Trains for `epochs` over (x, y); resolves to the per-epoch history. */
  fit(x: XData, y: YData, opts: FitOptions = {}): Promise<History> {
    return fitModel(this, x, y, opts);
  }

  /** Loss and metrics over (x, y), in eval mode without gradients. */
  evaluate(x: XData, y: YData, opts: EvaluateOptions = {}): Logs {
    return evaluateModel(this, x, y, opts);
  }

  /** The outputs for x (final softmax applied), in eval mode without gradients. */
  predict(x: XData, opts: PredictOptions = {}): Tensor {
    return predictModel(this, x, opts);
  }

  /** Layers, output shapes and parameter counts, as a table. */
  summary(): string {
    const rows = this.layers.map((l) => [`${l.name} (${l.className})`, l.outputShape ? shapeStr([-1, ...l.outputShape]).replace('-1', 'None') : '?', String(l.numParameters())]);
    const head = ['Layer (type)', 'Output Shape', 'Param #'];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)) + 2);
    const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join('').trimEnd();
    const rule = '='.repeat(w.reduce((a, b) => a + b, 0));
    return [`Model: "${this.name}"`, rule, line(head), rule, ...rows.map(line), rule, `Total params: ${this.numParameters()}`].join('\n');
  }

  /** The JSON config (layers, input shape, compile settings) that loadModel rebuilds the model from. */
  getConfig(): ModelConfig {
    return modelConfig(this);
  }

  /** Writes `dir`/config.json and `dir`/model.safetensors (each atomically). */
  save(dir: string): void {
    saveModel(this, dir);
  }

  /** A training checkpoint (atomic): weights, optimizer (and scheduler) state, RNG state, the epoch and caller data. */
  saveCheckpoint(file: string, state: CheckpointState): void {
    checkpointModel(this, file, state);
  }

  /** Restores a checkpoint written by saveCheckpoint (and the RNG state); returns its epoch and data. */
  loadCheckpoint(file: string, opts: { scheduler?: LRScheduler | null } = {}): { epoch: number; extra: unknown } {
    return resumeModel(this, file, opts);
  }
}

/** A Keras-style sequential model. */
export function sequential(layers: Layer[] = [], cfg: SequentialConfig = {}): Sequential {
  return new Sequential(layers, cfg);
}

export type { Callback };
