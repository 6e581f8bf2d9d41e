// nn.Transformer (encoder-decoder, "Attention Is All You Need") as
// torch.nn.Transformer with batch_first: TransformerEncoder / Decoder stacks of
// layers (ModuleList 'layers') with a final LayerNorm ('norm'), and the
// Transformer holding 'encoder' and 'decoder'. Parameter names and layouts are
// PyTorch's (encoder.layers.0.self_attn.in_proj_weight, ...linear1.weight,
// ...norm1.weight, encoder.norm.weight, decoder.layers.0.multihead_attn...),
// so a torch.nn.Transformer state dict (e.g. from safetensors) loads with
// loadStateDict and gives the same outputs. The decoder also decodes
// incrementally (createCache + step): self-attention keys and values are
// cached, the memory's cross-attention keys and values computed once.
import { noGrad } from '../autograd';
import { tensor } from '../creation';
import type { Device } from '../device';
import { defaultDevice, parseDevice } from '../device';
import { checkOptions, describe, rangeError, shapeStr, typeError } from '../errors';
import { embedding } from '../ops/embedding';
import { keep, tidy } from '../scope';
import { Tensor } from '../tensor';
import { keyPaddingForOp, markCausal, xavierUniform } from './attention';
import type { KeyPaddingMask } from './attention';
import { LayerNorm } from './layers';
import { Module } from './module';
import {
  checkDims,
  checkSeq,
  DECODER_FORWARD_KEYS,
  parseLayerOptions,
  TransformerDecoderLayer,
  TransformerEncoderLayer,
} from './transformer-layers';
import type { DecoderLayerForwardOptions, LayerCache, TransformerLayerOptions } from './transformer-layers';

/** Holds modules under the names '0', '1', ... (torch.nn.ModuleList); iterate over it. */
export class ModuleList<M extends Module = Module> extends Module {
  readonly #items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  append(m: M): this {
    this.registerModule(String(this.#items.length), m);
    this.#items.push(m);
    return this;
  }

  get length(): number {
    return this.#items.length;
  }

  at(i: number): M | undefined {
    return this.#items.at(i);
  }

  [Symbol.iterator](): Iterator<M> {
    return this.#items[Symbol.iterator]();
  }

  forward(): Tensor {
    throw typeError('nn.ModuleList.forward', 'a ModuleList has no forward; call its modules');
  }
}

function count(fn: string, v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw (typeof v === 'number' ? rangeError : typeError)(fn, `${name} must be an integer >= 0, got ${describe(v)}`);
  return v;
}

// `n` layers: `layer` first, then copies of it (same configuration and values, as PyTorch's deepcopy).
function clones<L extends Module>(layer: L, n: number, make: () => L): ModuleList<L> {
  const list = new ModuleList<L>();
  for (let i = 0; i < n; i++) {
    const l = i === 0 ? layer : make();
    if (i > 0) l.loadStateDict(layer.stateDict());
    l.train(layer.training);
    list.append(l);
  }
  return list;
}

export interface StackOptions {
  /** A final LayerNorm (nn.Transformer passes one; default none). */
  norm?: LayerNorm | null;
}

export interface EncoderForwardOptions {
  /** (S, S) or (B * nhead, S, S) attention mask. */
  mask?: Tensor | null;
  /** (B, S): int32 1 / true = padding (ignored key), or float additive. */
  srcKeyPaddingMask?: KeyPaddingMask | null;
  isCausal?: boolean;
}

export class TransformerEncoder extends Module {
  readonly layers: ModuleList<TransformerEncoderLayer>;
  readonly norm: LayerNorm | null;
  readonly dModel: number;

  /** numLayers layers: encoderLayer itself and numLayers - 1 copies of it. */
  constructor(encoderLayer: TransformerEncoderLayer, numLayers: number, opts: StackOptions = {}) {
    super();
    const fn = 'nn.TransformerEncoder';
    if (!(encoderLayer instanceof TransformerEncoderLayer)) throw typeError(fn, `encoderLayer must be an nn.TransformerEncoderLayer, got ${describe(encoderLayer)}`);
    const o = checkOptions(fn, opts, ['norm']);
    if (o.norm != null && !(o.norm instanceof LayerNorm)) throw typeError(fn, `norm must be an nn.LayerNorm or null, got ${describe(o.norm)}`);
    const l = encoderLayer;
    this.dModel = l.dModel;
    this.layers = this.registerModule('layers', clones(l, count(fn, numLayers, 'numLayers'), () => new TransformerEncoderLayer(l.dModel, l.nhead, l.config)));
    this.norm = (o.norm as LayerNorm | undefined) ?? null;
    if (this.norm) this.registerModule('norm', this.norm);
  }

  /** src (B, S, dModel) -> memory (B, S, dModel). */
  forward(src: Tensor, opts: EncoderForwardOptions = {}): Tensor {
    const fn = 'nn.TransformerEncoder.forward';
    const o = checkOptions(fn, opts, ['mask', 'srcKeyPaddingMask', 'isCausal']) as EncoderForwardOptions;
    let x = checkSeq(fn, 'src', src, this.dModel);
    const kpm = keyPaddingForOp(fn, 'srcKeyPaddingMask', o.srcKeyPaddingMask, x.shape[0], x.shape[1], x.device);
    for (const layer of this.layers) x = layer.forward(x, { srcMask: o.mask, srcKeyPaddingMask: kpm, isCausal: o.isCausal });
    return this.norm ? this.norm.forward(x) : x;
  }
}

/** @internal Rows `index` (int32 (N)) of x along dim 0: (N, ...x.shape[1:]); one embedding lookup. */
export function gatherRows(x: Tensor, index: Tensor): Tensor {
  return embedding(index, x.reshape(x.shape[0], -1)).reshape([index.size, ...x.shape.slice(1)]);
}

/**
 * Incremental decoding state: per decoder layer the cached self-attention keys
 * and values (B, H, t, D) and the memory's cross-attention keys and values.
 * Tensors are kept out of tidy() scopes; dispose() frees them.
 */
export class DecoderCache {
  readonly layers: LayerCache[];
  /** The memory key-padding mask as the attention op takes it (float32 additive), or null. */
  memoryMask: Tensor | null;
  /** Positions decoded so far. */
  length = 0;

  constructor(layers: LayerCache[], memoryMask: Tensor | null) {
    this.layers = layers;
    this.memoryMask = memoryMask;
  }

  get batchSize(): number {
    return this.layers.length ? this.layers[0].crossK.shape[0] : 0;
  }

  /**
   * Keeps batch rows `index` (new row i = old row index[i]), e.g. the surviving
   * beams. memory: false leaves the memory's keys, values and mask as they are,
   * which is right when every row moves to a row of the same memory (beams of
   * one source), and saves most of the copying.
   */
  reorder(index: readonly number[], opts: { memory?: boolean } = {}): void {
    const fn = 'DecoderCache.reorder';
    const B = this.batchSize;
    if (!Array.isArray(index) || index.some((i) => !Number.isInteger(i) || i < 0 || i >= B)) throw rangeError(fn, `index must be an array of integers in [0, ${B})`);
    if (!this.layers.length) return;
    const device = this.layers[0].crossK.device;
    tidy(() => noGrad(() => {
      const idx = tensor(Int32Array.from(index), { device });
      const take = (t: Tensor) => {
        const out = keep(gatherRows(t, idx));
        t.dispose();
        return out;
      };
      for (const c of this.layers) {
        if (c.k) c.k = take(c.k);
        if (c.v) c.v = take(c.v);
        if (opts.memory === false) continue;
        c.crossK = take(c.crossK);
        c.crossV = take(c.crossV);
      }
      if (this.memoryMask && opts.memory !== false) this.memoryMask = take(this.memoryMask);
    }));
  }

  dispose(): void {
    for (const c of this.layers) for (const t of [c.k, c.v, c.crossK, c.crossV]) t?.dispose();
    this.memoryMask?.dispose();
  }
}

export class TransformerDecoder extends Module {
  readonly layers: ModuleList<TransformerDecoderLayer>;
  readonly norm: LayerNorm | null;
  readonly dModel: number;

  /** numLayers layers: decoderLayer itself and numLayers - 1 copies of it. */
  constructor(decoderLayer: TransformerDecoderLayer, numLayers: number, opts: StackOptions = {}) {
    super();
    const fn = 'nn.TransformerDecoder';
    if (!(decoderLayer instanceof TransformerDecoderLayer)) throw typeError(fn, `decoderLayer must be an nn.TransformerDecoderLayer, got ${describe(decoderLayer)}`);
    const o = checkOptions(fn, opts, ['norm']);
    if (o.norm != null && !(o.norm instanceof LayerNorm)) throw typeError(fn, `norm must be an nn.LayerNorm or null, got ${describe(o.norm)}`);
    const l = decoderLayer;
    this.dModel = l.dModel;
    this.layers = this.registerModule('layers', clones(l, count(fn, numLayers, 'numLayers'), () => new TransformerDecoderLayer(l.dModel, l.nhead, l.config)));
    this.norm = (o.norm as LayerNorm | undefined) ?? null;
    if (this.norm) this.registerModule('norm', this.norm);
  }

  /** tgt (B, T, dModel) attending to memory (B, S, dModel) -> (B, T, dModel). */
  forward(tgt: Tensor, memory: Tensor, opts: DecoderLayerForwardOptions = {}): Tensor {
    const fn = 'nn.TransformerDecoder.forward';
    const o = checkOptions(fn, opts, DECODER_FORWARD_KEYS) as DecoderLayerForwardOptions;
    let x = checkSeq(fn, 'tgt', tgt, this.dModel);
    const mem = checkSeq(fn, 'memory', memory, this.dModel);
    if (mem.shape[0] !== x.shape[0]) throw rangeError(fn, `tgt and memory must have the same batch size, got ${shapeStr(x.shape)} and ${shapeStr(mem.shape)}`);
    const tgtKeyPaddingMask = keyPaddingForOp(fn, 'tgtKeyPaddingMask', o.tgtKeyPaddingMask, x.shape[0], x.shape[1], x.device);
    const memoryKeyPaddingMask = keyPaddingForOp(fn, 'memoryKeyPaddingMask', o.memoryKeyPaddingMask, mem.shape[0], mem.shape[1], x.device);
    for (const layer of this.layers) x = layer.forward(x, mem, { ...o, tgtKeyPaddingMask, memoryKeyPaddingMask });
    return this.norm ? this.norm.forward(x) : x;
  }

  /** A decoding cache for memory (B, S, dModel): the cross-attention keys and values of every layer, computed once. */
  createCache(memory: Tensor, opts: { memoryKeyPaddingMask?: KeyPaddingMask | null } = {}): DecoderCache {
    const fn = 'nn.TransformerDecoder.createCache';
    const o = checkOptions(fn, opts, ['memoryKeyPaddingMask']);
    const mem = checkSeq(fn, 'memory', memory, this.dModel);
    return tidy(() => noGrad(() => {
      const mask = keyPaddingForOp(fn, 'memoryKeyPaddingMask', o.memoryKeyPaddingMask as KeyPaddingMask, mem.shape[0], mem.shape[1], mem.device);
      const layers = [...this.layers].map((l) => {
        const [crossK, crossV] = l.crossKeyValue(mem);
        return { k: null, v: null, crossK: keep(crossK), crossV: keep(crossV) };
      });
      return new DecoderCache(layers, mask ? keep(mask === o.memoryKeyPaddingMask ? mask.clone() : mask) : null);
    }));
  }

  /**
   * The next positions tgt (B, t, dModel) (usually t = 1) given the cache of the
   * previous ones: returns (B, t, dModel), as forward() on the whole prefix with
   * a causal mask would at those positions; appends to the cache. No gradients.
   */
  step(tgt: Tensor, cache: DecoderCache): Tensor {
    const fn = 'nn.TransformerDecoder.step';
    let x = checkSeq(fn, 'tgt', tgt, this.dModel);
    if (!(cache instanceof DecoderCache) || cache.layers.length !== this.layers.length) throw typeError(fn, `cache must be a DecoderCache from this decoder's createCache(), got ${describe(cache)}`);
    if (x.shape[0] !== cache.batchSize) throw rangeError(fn, `tgt has batch size ${x.shape[0]} (shape ${shapeStr(x.shape)}) but the cache has ${cache.batchSize}`);
    return noGrad(() => {
      [...this.layers].forEach((l, i) => (x = l.step(x, cache.layers[i], cache.memoryMask)));
      cache.length += tgt.shape[1];
      return this.norm ? this.norm.forward(x) : x;
    });
  }
}

export interface TransformerOptions extends TransformerLayerOptions {
  /** Model width (default 512). */
  dModel?: number;
  /** Attention heads (default 8); dModel must be divisible by it. */
  nhead?: number;
  /** default 6. */
  numEncoderLayers?: number;
  /** default 6. */
  numDecoderLayers?: number;
}

export interface TransformerForwardOptions extends DecoderLayerForwardOptions {
  /** (S, S) or (B * nhead, S, S) encoder self-attention mask. */
  srcMask?: Tensor | null;
  /** (B, S): int32 1 / true = padding, or float additive. Pass it as memoryKeyPaddingMask too (as in PyTorch). */
  srcKeyPaddingMask?: KeyPaddingMask | null;
  srcIsCausal?: boolean;
}

export class Transformer extends Module {
  readonly dModel: number;
  readonly nhead: number;
  readonly encoder: TransformerEncoder;
  readonly decoder: TransformerDecoder;

  constructor(opts: TransformerOptions = {}) {
    super();
    const fn = 'nn.Transformer';
    const c = parseLayerOptions(fn, opts, ['dModel', 'nhead', 'numEncoderLayers', 'numDecoderLayers']);
    const dModel = (c.dModel ?? 512) as number;
    const nhead = (c.nhead ?? 8) as number;
    checkDims(fn, dModel, nhead);
    const nEnc = count(fn, c.numEncoderLayers ?? 6, 'numEncoderLayers');
    const nDec = count(fn, c.numDecoderLayers ?? 6, 'numDecoderLayers');
    this.dModel = dModel;
    this.nhead = nhead;
    const layer = { dimFeedforward: c.dimFeedforward, dropout: c.dropout, activation: c.activation, layerNormEps: c.layerNormEps, normFirst: c.normFirst, device: c.device };
    const norm = () => new LayerNorm(dModel, { eps: c.layerNormEps, device: c.device });
    this.encoder = this.registerModule('encoder', new TransformerEncoder(new TransformerEncoderLayer(dModel, nhead, layer), nEnc, { norm: norm() }));
    this.decoder = this.registerModule('decoder', new TransformerDecoder(new TransformerDecoderLayer(dModel, nhead, layer), nDec, { norm: norm() }));
    for (const p of this.parameters()) if (p.ndim > 1) xavierUniform(p); // torch's _reset_parameters
  }

  /**
   * src (B, S, dModel), tgt (B, T, dModel) -> (B, T, dModel). For a causal
   * decoder pass tgtMask: Transformer.generateSquareSubsequentMask(T) (or tgtIsCausal: true).
   */
  forward(src: Tensor, tgt: Tensor, opts: TransformerForwardOptions = {}): Tensor {
    const fn = 'nn.Transformer.forward';
    const o = checkOptions(fn, opts, [...DECODER_FORWARD_KEYS, 'srcMask', 'srcKeyPaddingMask', 'srcIsCausal']) as TransformerForwardOptions;
    checkSeq(fn, 'src', src, this.dModel);
    checkSeq(fn, 'tgt', tgt, this.dModel);
    if (src.shape[0] !== tgt.shape[0]) throw rangeError(fn, `src and tgt must have the same batch size, got ${shapeStr(src.shape)} and ${shapeStr(tgt.shape)}`);
    const { srcMask, srcKeyPaddingMask, srcIsCausal, ...dec } = o;
    const memory = this.encoder.forward(src, { mask: srcMask, srcKeyPaddingMask, isCausal: srcIsCausal });
    return this.decoder.forward(tgt, memory, dec);
  }

  /**
   * (T, T) float32 mask: 0 on and below the diagonal, -Infinity above (query i
   * sees keys j <= i), as torch's generate_square_subsequent_mask. Attention
   * recognises it and runs the fused causal kernel.
   */
  static generateSquareSubsequentMask(T: number, opts: { device?: Device } = {}): Tensor {
    const fn = 'nn.Transformer.generateSquareSubsequentMask';
    count(fn, T, 'T');
    const o = checkOptions(fn, opts, ['device']);
    const device = o.device === undefined ? defaultDevice() : parseDevice(fn, o.device);
    const v = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) v[i * T + j] = -Infinity;
    return markCausal(tensor(v, { shape: [T, T], device }));
  }

  protected extraRepr(): string {
    return `dModel=${this.dModel}, nhead=${this.nhead}`;
  }
}
