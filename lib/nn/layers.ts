// Layers: Linear (PyTorch layout and init), activations (ReLU, GELU, Tanh,
// Sigmoid), Dropout, LayerNorm, Embedding, Flatten, Sequential. Random
// initialisation draws from the library's Philox generator (cg.rand/randn),
// so it repeats after cg.manualSeed.
import { ones, rand, randn, zeros } from '../creation';
import type { Device } from '../device';
import { parseDevice } from '../device';
import { checkOptions, describe, rangeError, shapeStr, typeError } from '../errors';
import { activation, relu, sigmoid, tanh } from '../ops/activation';
import { geluKind } from '../ops/activation-names';
import type { GeluOptions } from '../ops/activation-names';
import { dropout } from '../ops/dropout';
import { embedding } from '../ops/embedding';
import { layerNorm } from '../ops/layernorm';
import { linear } from '../ops/matmul';
import { Tensor } from '../tensor';
import { Module } from './module';

function size(fn: string, v: unknown, name: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw (typeof v === 'number' ? rangeError : typeError)(fn, `${name} must be an integer >= ${min}, got ${describe(v)}`);
  return v;
}

function bool(fn: string, v: unknown, name: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw typeError(fn, `${name} must be a boolean, got ${describe(v)}`);
  return v;
}

function device(fn: string, v: unknown): Device | undefined {
  return v === undefined ? undefined : parseDevice(fn, v);
}

function input(fn: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) throw typeError(fn, `input must be a Tensor, got ${describe(x)}`);
  return x;
}

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  device?: Device;
}

/**
 * y = x @ weight^T + bias: weight (out, in), bias (out), as torch.nn.Linear,
 * initialised as torch does (kaiming-uniform with a = sqrt(5)): weight and bias
 * from U(-1/sqrt(in), 1/sqrt(in)).
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    const fn = 'nn.Linear';
    const o = checkOptions(fn, opts, ['bias', 'device']);
    this.inFeatures = size(fn, inFeatures, 'inFeatures');
    this.outFeatures = size(fn, outFeatures, 'outFeatures');
    const dev = device(fn, o.device);
    const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
    this.registerParameter('weight', rand([outFeatures, inFeatures], { low: -bound, high: bound, device: dev }));
    this.registerParameter('bias', bool(fn, o.bias, 'bias', true) ? rand([outFeatures], { low: -bound, high: bound, device: dev }) : null);
  }

  get weight(): Tensor {
    return this.param('weight')!;
  }

  get bias(): Tensor | null {
    return this.param('bias');
  }

  forward(x: Tensor): Tensor {
    const fn = 'nn.Linear.forward';
    input(fn, x);
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures)
      throw rangeError(fn, `input has shape ${shapeStr(x.shape)} but the layer takes (..., ${this.inFeatures}) (weight ${shapeStr(this.weight.shape)})`);
    return linear(x, this.weight, this.bias);
  }

  protected extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(input('nn.ReLU.forward', x));
  }
}

/**
 * GELU: the tanh approximation by default (torch.nn.GELU(approximate='tanh'),
 * as GPT-2); `{ approximate: 'none' }` is the exact erf form (torch.nn.GELU()).
 */
export class GELU extends Module {
  readonly approximate: 'tanh' | 'none';
  private readonly kind: 'gelu' | 'gelu_exact';

  constructor(opts: GeluOptions = {}) {
    super();
    this.kind = geluKind('nn.GELU', opts);
    this.approximate = this.kind === 'gelu' ? 'tanh' : 'none';
  }

  forward(x: Tensor): Tensor {
    return activation(this.kind, input('nn.GELU.forward', x));
  }

  protected extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(input('nn.Tanh.forward', x));
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(input('nn.Sigmoid.forward', x));
  }
}

/** Zeroes elements with probability p while training (scaling the rest by 1/(1-p)); the identity in eval mode. */
export class Dropout extends Module {
  readonly p: number;

  constructor(p = 0.5) {
    super();
    if (typeof p !== 'number') throw typeError('nn.Dropout', `p must be a number in [0, 1], got ${describe(p)}`);
    if (!(p >= 0 && p <= 1)) throw rangeError('nn.Dropout', `p must be in [0, 1], got ${p}`);
    this.p = p;
  }

  forward(x: Tensor): Tensor {
    return dropout(input('nn.Dropout.forward', x), this.p, { training: this.training });
  }

  protected extraRepr(): string {
    return `p=${this.p}`;
  }
}

export interface LayerNormOptions {
  /** default 1e-5. */
  eps?: number;
  /** Learn weight (ones) and bias (zeros) (default true). */
  elementwiseAffine?: boolean;
  device?: Device;
}

/** LayerNorm over the last dimension, of size normalizedShape. */
export class LayerNorm extends Module {
  readonly normalizedShape: number;
  readonly eps: number;

  constructor(normalizedShape: number, opts: LayerNormOptions = {}) {
    super();
    const fn = 'nn.LayerNorm';
    const o = checkOptions(fn, opts, ['eps', 'elementwiseAffine', 'device']);
    this.normalizedShape = size(fn, normalizedShape, 'normalizedShape', 1);
    const eps = o.eps ?? 1e-5;
    if (typeof eps !== 'number' || !(eps >= 0)) throw rangeError(fn, `eps must be a number >= 0, got ${describe(eps)}`);
    this.eps = eps;
    const affine = bool(fn, o.elementwiseAffine, 'elementwiseAffine', true);
    const dev = device(fn, o.device);
    this.registerParameter('weight', affine ? ones([normalizedShape], { device: dev }) : null);
    this.registerParameter('bias', affine ? zeros([normalizedShape], { device: dev }) : null);
  }

  forward(x: Tensor): Tensor {
    const fn = 'nn.LayerNorm.forward';
    input(fn, x);
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.normalizedShape)
      throw rangeError(fn, `input has shape ${shapeStr(x.shape)} but the layer normalises a last dimension of ${this.normalizedShape}`);
    return layerNorm(x, this.param('weight'), this.param('bias'), this.eps);
  }

  protected extraRepr(): string {
    return `${this.normalizedShape}, eps=${this.eps}`;
  }
}

export interface EmbeddingOptions {
  device?: Device;
}

/** A lookup table weight (numEmbeddings, embeddingDim), initialised N(0, 1) as torch; input int32 indices. */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;

  constructor(numEmbeddings: number, embeddingDim: number, opts: EmbeddingOptions = {}) {
    super();
    const fn = 'nn.Embedding';
    const o = checkOptions(fn, opts, ['device']);
    this.numEmbeddings = size(fn, numEmbeddings, 'numEmbeddings', 1);
    this.embeddingDim = size(fn, embeddingDim, 'embeddingDim');
    this.registerParameter('weight', randn([numEmbeddings, embeddingDim], { device: device(fn, o.device) }));
  }

  get weight(): Tensor {
    return this.param('weight')!;
  }

  forward(idx: Tensor): Tensor {
    const fn = 'nn.Embedding.forward';
    input(fn, idx);
    if (idx.dtype !== 'int32') throw typeError(fn, `indices must be int32, got ${idx.describe()}`);
    return embedding(idx, this.weight);
  }

  protected extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}`;
  }
}

/** Flattens dims startDim.. into one: (N, 28, 28) -> (N, 784) with the default startDim 1. */
export class Flatten extends Module {
  readonly startDim: number;

  constructor(startDim = 1) {
    super();
    this.startDim = size('nn.Flatten', startDim, 'startDim');
  }

  forward(x: Tensor): Tensor {
    const fn = 'nn.Flatten.forward';
    input(fn, x);
    if (x.ndim < this.startDim) throw rangeError(fn, `input has shape ${shapeStr(x.shape)}, fewer than startDim ${this.startDim} dims`);
    return x.reshape([...x.shape.slice(0, this.startDim), -1]);
  }
}

/** Runs its modules in order, each on the previous one's output; parameters named '0.weight', '1.bias', ... */
export class Sequential extends Module {
  readonly #layers: Module[];

  constructor(...modules: Module[]) {
    super();
    this.#layers = modules;
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) throw typeError('nn.Sequential', `argument ${i} must be an nn.Module, got ${describe(m)}`);
      this.registerModule(String(i), m);
    });
  }

  get length(): number {
    return this.#layers.length;
  }

  /** The i-th module (negative counts from the end). */
  at(i: number): Module | undefined {
    return this.#layers.at(i);
  }

  forward(x: Tensor): Tensor {
    return this.#layers.reduce((h, m) => m.forward(h), x);
  }
}
