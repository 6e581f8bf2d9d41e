// Transformer layers as torch.nn.TransformerEncoderLayer / DecoderLayer
// (batch first), with PyTorch's submodule names (self_attn, multihead_attn,
// linear1, linear2, norm1..3) so that PyTorch state dicts load as is.
// Post-norm by default (x = norm(x + sublayer(x)), as the original Transformer
// and PyTorch); normFirst: x = x + sublayer(norm(x)). Dropout after each
// sublayer and after the feed-forward activation, as PyTorch. The decoder
// layer also runs incrementally (step) over cached self-attention keys and
// values and precomputed cross-attention keys and values.
import { concat } from '../ops/shape';
import { dropout } from '../ops/dropout';
import { add } from '../ops/elementwise';
import type { Activation } from '../ops/activation';
import { linear } from '../ops/matmul';
import type { Device } from '../device';
import { parseDevice } from '../device';
import { checkOptions, describe, rangeError, shapeStr, typeError } from '../errors';
import { keep } from '../scope';
import { Tensor } from '../tensor';
import { checkAttnMask, keyPaddingForOp, MultiheadAttention } from './attention';
import type { KeyPaddingMask } from './attention';
import { LayerNorm, Linear } from './layers';
import { Module } from './module';

/**
 * Feed-forward activations by name. As torch.nn.Transformer, 'gelu' is the
 * exact (erf) GELU; 'gelu_tanh' is the tanh approximation (GPT-2's).
 */
export type TransformerActivation = 'relu' | 'gelu' | 'gelu_tanh' | 'tanh' | 'sigmoid';
export type ActivationSpec = TransformerActivation | ((x: Tensor) => Tensor);

// The kernel (ops/activation) each name runs.
const KERNEL: Record<TransformerActivation, Activation> = { relu: 'relu', gelu: 'gelu_exact', gelu_tanh: 'gelu', tanh: 'tanh', sigmoid: 'sigmoid' };

export interface TransformerLayerOptions {
  /** Hidden size of the feed-forward block (default 2048). */
  dimFeedforward?: number;
  /** Dropout probability (default 0.1). */
  dropout?: number;
  /** 'relu' (default), 'gelu' (exact erf, as PyTorch), 'gelu_tanh' (tanh approximation), 'tanh', 'sigmoid', or a function. */
  activation?: ActivationSpec;
  /** LayerNorm epsilon (default 1e-5). */
  layerNormEps?: number;
  /** Pre-norm layers (default false: post-norm). */
  normFirst?: boolean;
  /** Only batch-first (B, T, dModel) inputs are supported; accepted for PyTorch-shaped configs. */
  batchFirst?: true;
  device?: Device;
}

export interface LayerConfig {
  dimFeedforward: number;
  dropout: number;
  activation: ActivationSpec;
  layerNormEps: number;
  normFirst: boolean;
  device?: Device;
}

const LAYER_KEYS = ['dimFeedforward', 'dropout', 'activation', 'layerNormEps', 'normFirst', 'batchFirst', 'device'];

/** @internal Checks the shared layer options. */
export function parseLayerOptions(fn: string, opts: unknown, extra: string[] = []): LayerConfig & Record<string, unknown> {
  const o = checkOptions(fn, opts, [...LAYER_KEYS, ...extra]);
  const int = (k: string, d: number, min = 1): number => {
    const v = o[k] ?? d;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw (typeof v === 'number' ? rangeError : typeError)(fn, `${k} must be an integer >= ${min}, got ${describe(v)}`);
    return v;
  };
  const p = o.dropout ?? 0.1;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw rangeError(fn, `dropout must be a number in [0, 1], got ${describe(p)}`);
  const eps = o.layerNormEps ?? 1e-5;
  if (typeof eps !== 'number' || !(eps >= 0)) throw rangeError(fn, `layerNormEps must be a number >= 0, got ${describe(eps)}`);
  const act = o.activation ?? 'relu';
  if (typeof act !== 'function' && !(typeof act === 'string' && Object.hasOwn(KERNEL, act)))
    throw typeError(fn, `activation must be 'relu', 'gelu' (exact), 'gelu_tanh', 'tanh', 'sigmoid' or a function, got ${describe(act)}`);
  if (o.normFirst !== undefined && typeof o.normFirst !== 'boolean') throw typeError(fn, `normFirst must be a boolean, got ${describe(o.normFirst)}`);
  if (o.batchFirst !== undefined && o.batchFirst !== true) throw rangeError(fn, `only batch-first inputs (B, T, dModel) are supported; batchFirst must be true or absent, got ${describe(o.batchFirst)}`);
  return {
    ...o,
    dimFeedforward: int('dimFeedforward', 2048),
    dropout: p,
    activation: act as ActivationSpec,
    layerNormEps: eps,
    normFirst: o.normFirst === true,
    device: o.device === undefined ? undefined : parseDevice(fn, o.device),
  };
}

/** @internal dModel and nhead checked (dModel divisible by nhead). */
export function checkDims(fn: string, dModel: unknown, nhead: unknown): void {
  for (const [n, v] of [['dModel', dModel], ['nhead', nhead]] as const)
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw (typeof v === 'number' ? rangeError : typeError)(fn, `${n} must be an integer >= 1, got ${describe(v)}`);
  if ((dModel as number) % (nhead as number) !== 0) throw rangeError(fn, `dModel ${dModel} must be divisible by nhead ${nhead}`);
}

/** @internal Checks a (B, T, dModel) float32 input. */
export function checkSeq(fn: string, name: string, x: unknown, dModel: number): Tensor {
  if (!(x instanceof Tensor)) throw typeError(fn, `${name} must be a Tensor (B, T, dModel), got ${describe(x)}`);
  if (x.dtype !== 'float32') throw typeError(fn, `${name} must be float32, got ${x.describe()}`);
  if (x.ndim !== 3 || x.shape[2] !== dModel) throw rangeError(fn, `${name} must have shape (B, T, dModel = ${dModel}) (batch first), got ${shapeStr(x.shape)}`);
  return x;
}

const maybeDropout = (m: Module, x: Tensor, p: number): Tensor => (m.training && p > 0 ? dropout(x, p) : x);

// The feed-forward block shared by both layers: linear2(dropout(act(linear1(x)))).
abstract class TransformerLayer extends Module {
  readonly dModel: number;
  readonly nhead: number;
  readonly config: LayerConfig;
  readonly linear1: Linear;
  readonly linear2: Linear;

  protected constructor(fn: string, dModel: number, nhead: number, opts: TransformerLayerOptions) {
    super();
    checkDims(fn, dModel, nhead);
    this.config = parseLayerOptions(fn, opts);
    this.dModel = dModel;
    this.nhead = nhead;
    const device = this.config.device;
    this.linear1 = new Linear(dModel, this.config.dimFeedforward, { device });
    this.linear2 = new Linear(this.config.dimFeedforward, dModel, { device });
  }

  protected ff(x: Tensor): Tensor {
    const act = this.config.activation;
    const h = typeof act === 'string' ? linear(x, this.linear1.weight, this.linear1.bias, { activation: KERNEL[act] }) : act(this.linear1.forward(x));
    return maybeDropout(this, this.linear2.forward(maybeDropout(this, h, this.config.dropout)), this.config.dropout);
  }

  protected drop(x: Tensor): Tensor {
    return maybeDropout(this, x, this.config.dropout);
  }

  protected attention(): MultiheadAttention {
    return new MultiheadAttention(this.dModel, this.nhead, { dropout: this.config.dropout, device: this.config.device });
  }

  protected norm(): LayerNorm {
    return new LayerNorm(this.dModel, { eps: this.config.layerNormEps, device: this.config.device });
  }

  protected extraRepr(): string {
    const a = this.config.activation;
    return `dModel=${this.dModel}, nhead=${this.nhead}, dimFeedforward=${this.config.dimFeedforward}, dropout=${this.config.dropout}, activation=${typeof a === 'string' ? a : 'function'}, normFirst=${this.config.normFirst}`;
  }
}

export interface EncoderLayerForwardOptions {
  /** (S, S) or (B * nhead, S, S) attention mask (float additive, int32 1 = not allowed). */
  srcMask?: Tensor | null;
  /** (B, S): int32 1 / true = padding (ignored key), or float additive. */
  srcKeyPaddingMask?: KeyPaddingMask | null;
  /** Causal self-attention. */
  isCausal?: boolean;
}

export class TransformerEncoderLayer extends TransformerLayer {
  readonly selfAttn: MultiheadAttention;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;

  constructor(dModel: number, nhead: number, opts: TransformerLayerOptions = {}) {
    super('nn.TransformerEncoderLayer', dModel, nhead, opts);
    this.selfAttn = this.registerModule('self_attn', this.attention());
    this.registerModule('linear1', this.linear1);
    this.registerModule('linear2', this.linear2);
    this.norm1 = this.registerModule('norm1', this.norm());
    this.norm2 = this.registerModule('norm2', this.norm());
  }

  /** src (B, S, dModel) -> (B, S, dModel). */
  forward(src: Tensor, opts: EncoderLayerForwardOptions = {}): Tensor {
    const fn = 'nn.TransformerEncoderLayer.forward';
    const o = checkOptions(fn, opts, ['srcMask', 'srcKeyPaddingMask', 'isCausal']) as EncoderLayerForwardOptions;
    const x0 = checkSeq(fn, 'src', src, this.dModel);
    const [B, S] = x0.shape;
    const kpm = keyPaddingForOp(fn, 'srcKeyPaddingMask', o.srcKeyPaddingMask, B, S, x0.device);
    const mask = checkAttnMask(fn, 'srcMask', o.srcMask, B * this.nhead, S, S, x0.device);
    const sa = (h: Tensor) => {
      const [q, k, v] = this.selfAttn.projectSelf(h);
      return this.drop(this.selfAttn.attend(q, k, v, kpm, mask, o.isCausal === true));
    };
    let x = x0;
    if (this.config.normFirst) {
      x = add(x, sa(this.norm1.forward(x)));
      return add(x, this.ff(this.norm2.forward(x)));
    }
    x = this.norm1.forward(add(x, sa(x)));
    return this.norm2.forward(add(x, this.ff(x)));
  }
}

export interface DecoderLayerForwardOptions {
  /** (T, T) or (B * nhead, T, T) self-attention mask, e.g. Transformer.generateSquareSubsequentMask(T). */
  tgtMask?: Tensor | null;
  /** (T, S) or (B * nhead, T, S) cross-attention mask. */
  memoryMask?: Tensor | null;
  /** (B, T): int32 1 / true = padding, or float additive. */
  tgtKeyPaddingMask?: KeyPaddingMask | null;
  /** (B, S): int32 1 / true = padding, or float additive. */
  memoryKeyPaddingMask?: KeyPaddingMask | null;
  /** Causal self-attention (same as the square subsequent tgtMask, without making one). */
  tgtIsCausal?: boolean;
}

export const DECODER_FORWARD_KEYS = ['tgtMask', 'memoryMask', 'tgtKeyPaddingMask', 'memoryKeyPaddingMask', 'tgtIsCausal'];

/** @internal One decoder layer's cached keys and values (B, H, t, D), and the memory's (B, H, S, D). */
export interface LayerCache {
  k: Tensor | null;
  v: Tensor | null;
  crossK: Tensor;
  crossV: Tensor;
}

export class TransformerDecoderLayer extends TransformerLayer {
  readonly selfAttn: MultiheadAttention;
  readonly crossAttn: MultiheadAttention;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly norm3: LayerNorm;

  constructor(dModel: number, nhead: number, opts: TransformerLayerOptions = {}) {
    super('nn.TransformerDecoderLayer', dModel, nhead, opts);
    this.selfAttn = this.registerModule('self_attn', this.attention());
    this.crossAttn = this.registerModule('multihead_attn', this.attention());
    this.registerModule('linear1', this.linear1);
    this.registerModule('linear2', this.linear2);
    this.norm1 = this.registerModule('norm1', this.norm());
    this.norm2 = this.registerModule('norm2', this.norm());
    this.norm3 = this.registerModule('norm3', this.norm());
  }

  // The three sublayers around self-attention `sa` and cross-attention `ca`.
  #block(x: Tensor, sa: (h: Tensor) => Tensor, ca: (h: Tensor) => Tensor): Tensor {
    if (this.config.normFirst) {
      x = add(x, this.drop(sa(this.norm1.forward(x))));
      x = add(x, this.drop(ca(this.norm2.forward(x))));
      return add(x, this.ff(this.norm3.forward(x)));
    }
    x = this.norm1.forward(add(x, this.drop(sa(x))));
    x = this.norm2.forward(add(x, this.drop(ca(x))));
    return this.norm3.forward(add(x, this.ff(x)));
  }

  /** tgt (B, T, dModel) attending to memory (B, S, dModel) -> (B, T, dModel). */
  forward(tgt: Tensor, memory: Tensor, opts: DecoderLayerForwardOptions = {}): Tensor {
    const fn = 'nn.TransformerDecoderLayer.forward';
    const o = checkOptions(fn, opts, DECODER_FORWARD_KEYS) as DecoderLayerForwardOptions;
    const x = checkSeq(fn, 'tgt', tgt, this.dModel);
    const mem = checkSeq(fn, 'memory', memory, this.dModel);
    const [B, T] = x.shape;
    const S = mem.shape[1];
    if (mem.shape[0] !== B) throw rangeError(fn, `tgt and memory must have the same batch size, got ${shapeStr(x.shape)} and ${shapeStr(mem.shape)}`);
    if (o.tgtIsCausal !== undefined && typeof o.tgtIsCausal !== 'boolean') throw typeError(fn, `tgtIsCausal must be a boolean, got ${describe(o.tgtIsCausal)}`);
    const tkpm = keyPaddingForOp(fn, 'tgtKeyPaddingMask', o.tgtKeyPaddingMask, B, T, x.device);
    const mkpm = keyPaddingForOp(fn, 'memoryKeyPaddingMask', o.memoryKeyPaddingMask, B, S, x.device);
    const tmask = checkAttnMask(fn, 'tgtMask', o.tgtMask, B * this.nhead, T, T, x.device);
    const mmask = checkAttnMask(fn, 'memoryMask', o.memoryMask, B * this.nhead, T, S, x.device);
    const sa = (h: Tensor) => {
      const [q, k, v] = this.selfAttn.projectSelf(h);
      return this.selfAttn.attend(q, k, v, tkpm, tmask, o.tgtIsCausal === true);
    };
    const ca = (h: Tensor) => {
      const [k, v] = this.crossAttn.projectKeyValue(mem);
      return this.crossAttn.attend(this.crossAttn.projectQuery(h), k, v, mkpm, mmask, false);
    };
    return this.#block(x, sa, ca);
  }

  /** @internal The memory's cross-attention keys and values (B, H, S, D), computed once per decoding. */
  crossKeyValue(memory: Tensor): [Tensor, Tensor] {
    return this.crossAttn.projectKeyValue(memory);
  }

  /**
   * @internal Incremental decoding: x (B, t, dModel) are the next t positions; their
   * keys and values are appended to cache.k / cache.v (the previous ones disposed).
   * `mkpm` is the op-ready memory key-padding mask. Call under noGrad.
   */
  step(x: Tensor, cache: LayerCache, mkpm: Tensor | null): Tensor {
    const sa = (h: Tensor) => {
      const [q, k, v] = this.selfAttn.projectSelf(h);
      const K = cache.k ? concat([cache.k, k], 2) : k; // (B, H, t0 + t, D)
      const V = cache.v ? concat([cache.v, v], 2) : v;
      cache.k?.dispose();
      cache.v?.dispose();
      cache.k = keep(K);
      cache.v = keep(V);
      return this.selfAttn.attend(q, K, V, null, null, true); // bottom-right causal: new rows see every cached key
    };
    const ca = (h: Tensor) => this.crossAttn.attend(this.crossAttn.projectQuery(h), cache.crossK, cache.crossV, mkpm, null, false);
    return this.#block(x, sa, ca);
  }
}
