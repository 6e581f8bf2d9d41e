// Keras-style layers: dense({units, activation, inputShape}), flatten(),
// dropout({rate}), rescaling({scale, offset}). Each is an nn.Module built lazily once its input shape is
// known (from inputShape or the first data). Dense keeps PyTorch's layout,
// weight (units, in), with Keras's default init (glorot-uniform weight, zero
// bias); its relu/gelu/gelu_exact/tanh/sigmoid run fused in the GEMM epilogue
// ('gelu' is the tanh approximation, unlike Keras's exact default), and a
// softmax can be left to the loss (forwardLogits), which fuses it with
// cross-entropy.
import { rand, zeros } from '../creation';
import { checkOptions, describe, rangeError, shapeStr, typeError } from '../errors';
import { Module } from '../nn/module';
import type { Activation } from '../ops/activation';
import { dropout as dropoutOp } from '../ops/dropout';
import { linear } from '../ops/matmul';
import { softmax } from '../ops/softmax';
import { Tensor } from '../tensor';

/** 'gelu' is the tanh approximation (as the ops); 'gelu_exact' the erf form. */
export type ActivationName = 'relu' | 'gelu' | 'gelu_exact' | 'tanh' | 'sigmoid' | 'softmax' | 'linear';
export type Initializer = 'glorot_uniform' | 'he_uniform' | 'torch';
const ACTIVATIONS = ['relu', 'gelu', 'gelu_exact', 'tanh', 'sigmoid', 'softmax', 'linear'];
const INITIALIZERS = ['glorot_uniform', 'he_uniform', 'torch'];

export interface LayerConfig {
  /** Shape of one sample (without the batch dim); on the first layer it builds the model at once. */
  inputShape?: number[];
  /** Layer name (default: its kind, numbered within the model: dense, dense_1, ...). */
  name?: string;
}

export interface DenseConfig extends LayerConfig {
  units: number;
  /** default 'linear' (none). */
  activation?: ActivationName | null;
  /** default true. */
  useBias?: boolean;
  /** default 'glorot_uniform' (Keras); 'torch' is nn.Linear's init. */
  kernelInitializer?: Initializer;
}

export interface DropoutConfig extends LayerConfig {
  rate: number;
}

/** A Keras-style layer: a Module with a config and a build step. */
export abstract class Layer extends Module {
  abstract readonly className: string;
  name: string;
  inputShape: number[] | null = null;
  outputShape: number[] | null = null;

  protected constructor(fn: string, cfg: LayerConfig, kind: string) {
    super();
    if (cfg.inputShape !== undefined) {
      if (!Array.isArray(cfg.inputShape) || !cfg.inputShape.length || !cfg.inputShape.every((d) => Number.isSafeInteger(d) && d > 0))
        throw rangeError(fn, `inputShape must be a non-empty array of positive integers, got ${JSON.stringify(cfg.inputShape)}`);
    }
    if (cfg.name !== undefined && (typeof cfg.name !== 'string' || !/^[A-Za-z_][\w-]*$/.test(cfg.name)))
      throw typeError(fn, `name must be an identifier (letters, digits, _ and -), got ${describe(cfg.name)}`);
    this.name = cfg.name ?? kind;
  }

  get built(): boolean {
    return this.outputShape !== null;
  }

  /** Creates the parameters for inputs of `inputShape` (one sample); returns the output shape. */
  build(inputShape: number[]): number[] {
    this.inputShape = [...inputShape];
    this.outputShape = this.computeOutputShape(inputShape);
    return this.outputShape;
  }

  protected abstract computeOutputShape(inputShape: number[]): number[];

  /** The forward pass without a final softmax (the loss fuses it). */
  forwardLogits(x: Tensor): Tensor {
    return this.forward(x);
  }

  /** The layer's constructor arguments, for the model's JSON config. */
  abstract getConfig(): Record<string, unknown>;
}

export class Dense extends Layer {
  readonly className = 'Dense';
  readonly units: number;
  readonly activation: ActivationName;
  readonly useBias: boolean;
  readonly kernelInitializer: Initializer;

  constructor(cfg: DenseConfig) {
    const fn = 'keras.dense';
    const o = checkOptions(fn, cfg, ['units', 'activation', 'useBias', 'kernelInitializer', 'inputShape', 'name']) as Partial<DenseConfig> as DenseConfig;
    super(fn, o, 'dense');
    if (typeof o.units !== 'number' || !Number.isSafeInteger(o.units) || o.units < 1) throw rangeError(fn, `units must be an integer >= 1, got ${describe(o.units)}`);
    const act = o.activation ?? 'linear';
    if (!ACTIVATIONS.includes(act)) throw typeError(fn, `unknown activation ${describe(act)} (expected ${ACTIVATIONS.join(', ')})`);
    const init = o.kernelInitializer ?? 'glorot_uniform';
    if (!INITIALIZERS.includes(init)) throw typeError(fn, `unknown kernelInitializer ${describe(init)} (expected ${INITIALIZERS.join(', ')})`);
    if (o.useBias !== undefined && typeof o.useBias !== 'boolean') throw typeError(fn, `useBias must be a boolean, got ${describe(o.useBias)}`);
    this.units = o.units;
    this.activation = act;
    this.useBias = o.useBias !== false;
    this.kernelInitializer = init;
    if (o.inputShape) this.inputShape = [...o.inputShape];
  }

  protected computeOutputShape(inputShape: number[]): number[] {
    const fin = inputShape[inputShape.length - 1];
    const fout = this.units;
    const limit = this.kernelInitializer === 'glorot_uniform' ? Math.sqrt(6 / (fin + fout)) : this.kernelInitializer === 'he_uniform' ? Math.sqrt(6 / fin) : 1 / Math.sqrt(fin);
    this.registerParameter('weight', rand([fout, fin], { low: -limit, high: limit }));
    if (this.useBias) this.registerParameter('bias', this.kernelInitializer === 'torch' ? rand([fout], { low: -limit, high: limit }) : zeros([fout]));
    return [...inputShape.slice(0, -1), fout];
  }

  private affine(x: Tensor, act: Activation | null): Tensor {
    const w = this.param('weight');
    if (!w) throw rangeError(`keras.Dense(${this.name}).forward`, 'layer is not built (give the first layer an inputShape, or call fit/build first)');
    if (x.shape[x.ndim - 1] !== w.shape[1])
      throw rangeError(`keras.Dense(${this.name}).forward`, `input has shape ${shapeStr(x.shape)} but the layer takes (..., ${w.shape[1]})`);
    return linear(x, w, this.param('bias'), { activation: act });
  }

  forward(x: Tensor): Tensor {
    const y = this.forwardLogits(x);
    return this.activation === 'softmax' ? softmax(y, -1) : y;
  }

  forwardLogits(x: Tensor): Tensor {
    const a = this.activation;
    return this.affine(x, a === 'softmax' || a === 'linear' ? null : a);
  }

  getConfig(): Record<string, unknown> {
    return { units: this.units, activation: this.activation, useBias: this.useBias, kernelInitializer: this.kernelInitializer, name: this.name };
  }
}

/** Flattens each sample: (N, d1, d2, ...) -> (N, d1 * d2 * ...). */
export class Flatten extends Layer {
  readonly className = 'Flatten';
  constructor(cfg: LayerConfig = {}) {
    const o = checkOptions('keras.flatten', cfg, ['inputShape', 'name']) as LayerConfig;
    super('keras.flatten', o, 'flatten');
    if (o.inputShape) this.inputShape = [...o.inputShape];
  }

  protected computeOutputShape(inputShape: number[]): number[] {
    return [inputShape.reduce((a, b) => a * b, 1)];
  }

  forward(x: Tensor): Tensor {
    return x.reshape(x.shape[0], -1);
  }

  getConfig(): Record<string, unknown> {
    return { name: this.name };
  }
}

/** Dropout with the given rate while training (fit); the identity in evaluate and predict. */
export class Dropout extends Layer {
  readonly className = 'Dropout';
  readonly rate: number;
  constructor(cfg: DropoutConfig) {
    const fn = 'keras.dropout';
    const o = checkOptions(fn, cfg, ['rate', 'inputShape', 'name']) as Partial<DropoutConfig> as DropoutConfig;
    super(fn, o, 'dropout');
    if (typeof o.rate !== 'number' || !(o.rate >= 0 && o.rate < 1)) throw rangeError(fn, `rate must be a number in [0, 1), got ${describe(o.rate)}`);
    this.rate = o.rate;
    if (o.inputShape) this.inputShape = [...o.inputShape];
  }

  protected computeOutputShape(inputShape: number[]): number[] {
    return inputShape;
  }

  forward(x: Tensor): Tensor {
    return dropoutOp(x, this.rate, { training: this.training });
  }

  getConfig(): Record<string, unknown> {
    return { rate: this.rate, name: this.name };
  }
}

export interface RescalingConfig extends LayerConfig {
  /** Multiplier. */
  scale: number;
  /** Added after scaling (default 0). */
  offset?: number;
}

/** y = x * scale + offset (Keras Rescaling): input normalisation kept inside the saved model. */
export class Rescaling extends Layer {
  readonly className = 'Rescaling';
  readonly scale: number;
  readonly offset: number;
  constructor(cfg: RescalingConfig) {
    const fn = 'keras.rescaling';
    const o = checkOptions(fn, cfg, ['scale', 'offset', 'inputShape', 'name']) as Partial<RescalingConfig> as RescalingConfig;
    super(fn, o, 'rescaling');
    if (typeof o.scale !== 'number' || !Number.isFinite(o.scale)) throw typeError(fn, `scale must be a finite number, got ${describe(o.scale)}`);
    const offset = o.offset ?? 0;
    if (typeof offset !== 'number' || !Number.isFinite(offset)) throw typeError(fn, `offset must be a finite number, got ${describe(offset)}`);
    this.scale = o.scale;
    this.offset = offset;
    if (o.inputShape) this.inputShape = [...o.inputShape];
  }

  protected computeOutputShape(inputShape: number[]): number[] {
    return inputShape;
  }

  forward(x: Tensor): Tensor {
    const y = x.mul(this.scale);
    return this.offset === 0 ? y : y.add(this.offset);
  }

  getConfig(): Record<string, unknown> {
    return { scale: this.scale, offset: this.offset, name: this.name };
  }
}

export const dense = (cfg: DenseConfig): Dense => new Dense(cfg);
export const rescaling = (cfg: RescalingConfig): Rescaling => new Rescaling(cfg);
export const flatten = (cfg: LayerConfig = {}): Flatten => new Flatten(cfg);
export const dropout = (cfg: DropoutConfig): Dropout => new Dropout(cfg);

/** A layer from its class name and config (for loading a saved model). */
export function layerFromConfig(className: unknown, config: unknown): Layer {
  const c = (config ?? {}) as never;
  if (className === 'Dense') return new Dense(c);
  if (className === 'Flatten') return new Flatten(c);
  if (className === 'Dropout') return new Dropout(c);
  if (className === 'Rescaling') return new Rescaling(c);
  throw typeError('keras.loadModel', `unknown layer class ${describe(className)} (expected Dense, Flatten, Dropout or Rescaling)`);
}
