// A sequence-to-sequence Transformer: token embeddings scaled by sqrt(dModel)
// plus positional encodings (sinusoidal, or learned), nn.Transformer, and an
// output projection to the target vocabulary. Inputs are int32 token ids,
// src (B, S) and tgt (B, T); forward gives logits (B, T, tgtVocabSize) with a
// causal decoder. With padId set, padding tokens are masked out as keys
// (source, memory and target). Decoding (greedy here, beam search in
// seq2seq-beam.ts) encodes once, computes the memory's cross-attention keys
// and values once, and reuses cached self-attention keys and values.
import { noGrad } from '../autograd';
import { arange, tensor } from '../creation';
import type { Device } from '../device';
import { checkOptions, describe, rangeError, shapeStr, typeError } from '../errors';
import { add, mul } from '../ops/elementwise';
import { dropout } from '../ops/dropout';
import { embedding } from '../ops/embedding';
import { argmax } from '../ops/reduce';
import { slice } from '../ops/shape';
import { keep, tidy } from '../scope';
import { Tensor } from '../tensor';
import { copyInto } from '../nn/copy';
import { keyPaddingForOp } from '../nn/attention';
import type { KeyPaddingMask } from '../nn/attention';
import { Embedding, Linear } from '../nn/layers';
import { Module } from '../nn/module';
import { DecoderCache, Transformer } from '../nn/transformer';
import type { ActivationSpec } from '../nn/transformer-layers';
import { readSafetensors, saveSafetensors } from '../io/safetensors';
import { beamSearch } from './seq2seq-beam';
import type { BeamSearchOptions } from './seq2seq-beam';

export interface Seq2SeqOptions {
  srcVocabSize: number;
  tgtVocabSize: number;
  /** default 128. */
  dModel?: number;
  /** default 4. */
  nhead?: number;
  /** default 2. */
  numEncoderLayers?: number;
  /** default 2. */
  numDecoderLayers?: number;
  /** default 4 * dModel. */
  dimFeedforward?: number;
  /** default 0.1. */
  dropout?: number;
  activation?: ActivationSpec;
  layerNormEps?: number;
  normFirst?: boolean;
  /** Longest sequence (positions 0 .. maxLen - 1); default 512. */
  maxLen?: number;
  /** 'sinusoidal' (default, fixed) or 'learned' (a parameter 'pos_embed.weight'). */
  positional?: 'sinusoidal' | 'learned';
  /** Token id of padding: such positions are masked out as keys (default none). */
  padId?: number | null;
  device?: Device;
}

export interface Seq2SeqForwardOptions {
  /** (B, S) key-padding mask of the source (1 / true = padding); default from padId. */
  srcKeyPaddingMask?: KeyPaddingMask | null;
  /** (B, T) key-padding mask of the target; default from padId. */
  tgtKeyPaddingMask?: KeyPaddingMask | null;
}

export interface GreedyOptions {
  /** First decoder input (begin-of-sequence token). */
  bosId: number;
  /** Generation stops at this token (not included in the result). */
  eosId: number;
  /** Most tokens generated per sequence (default maxLen - 1). */
  maxNewTokens?: number;
  srcKeyPaddingMask?: KeyPaddingMask | null;
  /** Reuse cached keys and values (default true); false recomputes the whole prefix each step. */
  useCache?: boolean;
}

/** pe[pos, 2i] = sin(pos / 10000^(2i / d)), pe[pos, 2i + 1] = cos(same): (maxLen, d). */
export function sinusoidalEncoding(maxLen: number, d: number): Float32Array {
  const pe = new Float32Array(maxLen * d);
  for (let pos = 0; pos < maxLen; pos++)
    for (let i = 0; i < d; i += 2) {
      const a = pos / 10000 ** (i / d);
      pe[pos * d + i] = Math.sin(a);
      if (i + 1 < d) pe[pos * d + i + 1] = Math.cos(a);
    }
  return pe;
}

const SEQ2SEQ_KEY = 'cudagrad.seq2seq';

function int(fn: string, v: unknown, name: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw (typeof v === 'number' ? rangeError : typeError)(fn, `${name} must be an integer >= ${min}, got ${describe(v)}`);
  return v;
}

export class Seq2Seq extends Module {
  readonly srcVocabSize: number;
  readonly tgtVocabSize: number;
  readonly dModel: number;
  readonly maxLen: number;
  readonly positional: 'sinusoidal' | 'learned';
  readonly padId: number | null;
  readonly dropout: number;
  readonly srcEmbed: Embedding;
  readonly tgtEmbed: Embedding;
  readonly posEmbed: Embedding | null;
  readonly transformer: Transformer;
  readonly generator: Linear;
  /** The options it was built with (JSON-serialisable unless activation is a function). */
  readonly config: Seq2SeqOptions;
  readonly #pe = new Map<Device, Tensor>();
  readonly #padTables = new Map<Device, Tensor>();

  constructor(opts: Seq2SeqOptions) {
    super();
    const fn = 'models.Seq2Seq';
    const keys = ['srcVocabSize', 'tgtVocabSize', 'dModel', 'nhead', 'numEncoderLayers', 'numDecoderLayers', 'dimFeedforward', 'dropout', 'activation', 'layerNormEps', 'normFirst', 'maxLen', 'positional', 'padId', 'device'];
    const o = checkOptions(fn, opts, keys) as Partial<Seq2SeqOptions>;
    if (opts === undefined || opts === null) throw typeError(fn, 'options { srcVocabSize, tgtVocabSize, ... } are required');
    this.config = { ...opts };
    this.srcVocabSize = int(fn, o.srcVocabSize, 'srcVocabSize', 1);
    this.tgtVocabSize = int(fn, o.tgtVocabSize, 'tgtVocabSize', 1);
    const d = (this.dModel = int(fn, o.dModel ?? 128, 'dModel', 1));
    this.maxLen = int(fn, o.maxLen ?? 512, 'maxLen', 1);
    const pos = o.positional ?? 'sinusoidal';
    if (pos !== 'sinusoidal' && pos !== 'learned') throw typeError(fn, `positional must be 'sinusoidal' or 'learned', got ${describe(pos)}`);
    this.positional = pos;
    this.padId = o.padId === undefined || o.padId === null ? null : int(fn, o.padId, 'padId', 0);
    const device = o.device;
    this.srcEmbed = this.registerModule('src_embed', new Embedding(this.srcVocabSize, d, { device }));
    this.tgtEmbed = this.registerModule('tgt_embed', new Embedding(this.tgtVocabSize, d, { device }));
    this.posEmbed = pos === 'learned' ? this.registerModule('pos_embed', new Embedding(this.maxLen, d, { device })) : null;
    // Embeddings N(0, 1 / dModel): times sqrt(dModel) in forward, unit variance.
    for (const e of [this.srcEmbed, this.tgtEmbed, this.posEmbed]) if (e) tidy(() => noGrad(() => copyInto(e.weight, mul(e.weight, 1 / Math.sqrt(d)))));
    const { srcVocabSize: _s, tgtVocabSize: _t, maxLen: _m, positional: _p, padId: _i, ...rest } = o;
    this.transformer = this.registerModule('transformer', new Transformer({ nhead: 4, numEncoderLayers: 2, numDecoderLayers: 2, dimFeedforward: 4 * d, ...rest, dModel: d }));
    this.dropout = o.dropout ?? 0.1; // checked by the Transformer
    this.generator = this.registerModule('generator', new Linear(d, this.tgtVocabSize, { device }));
  }

  #checkTokens(fn: string, name: string, x: unknown, vocab: number, offset = 0): Tensor {
    if (!(x instanceof Tensor)) throw typeError(fn, `${name} must be an int32 Tensor (B, T) of token ids, got ${describe(x)}`);
    if (x.dtype !== 'int32' || x.ndim !== 2) throw typeError(fn, `${name} must be an int32 Tensor (B, T) of token ids in [0, ${vocab}), got ${x.describe()}`);
    if (offset + x.shape[1] > this.maxLen) throw rangeError(fn, `${name} has ${offset + x.shape[1]} positions (shape ${shapeStr(x.shape)}) but the model has maxLen ${this.maxLen}`);
    return x;
  }

  /** (T, dModel) positional encodings of positions offset .. offset + T - 1. */
  #positions(T: number, offset: number, device: Device): Tensor {
    if (this.posEmbed) return embedding(arange(offset, offset + T, { dtype: 'int32', device }), this.posEmbed.weight);
    let pe = this.#pe.get(device);
    if (!pe || pe.isDisposed) {
      pe = keep(tensor(sinusoidalEncoding(this.maxLen, this.dModel), { shape: [this.maxLen, this.dModel], device }));
      this.#pe.set(device, pe);
    }
    return slice(pe, 0, offset, offset + T);
  }

  /** Token ids (B, T) -> embeddings * sqrt(dModel) + positions (then dropout): (B, T, dModel). */
  embed(tokens: Tensor, which: 'src' | 'tgt', offset = 0): Tensor {
    const e = which === 'src' ? this.srcEmbed : this.tgtEmbed;
    const x = add(mul(e.forward(tokens), Math.sqrt(this.dModel)), this.#positions(tokens.shape[1], offset, tokens.device));
    return this.training && this.dropout > 0 ? dropout(x, this.dropout) : x;
  }

  /** @internal The op-ready key-padding mask of `tokens`: the given one, else from padId, else null. */
  paddingMask(fn: string, name: string, tokens: Tensor, given: KeyPaddingMask | null | undefined): Tensor | null {
    const [B, T] = tokens.shape;
    if (given !== undefined && given !== null) return keyPaddingForOp(fn, name, given, B, T, tokens.device);
    if (this.padId === null) return null;
    let table = this.#padTables.get(tokens.device);
    if (!table || table.isDisposed) {
      const V = Math.max(this.srcVocabSize, this.tgtVocabSize, this.padId + 1);
      const v = new Float32Array(V);
      v[this.padId] = -Infinity;
      table = keep(tensor(v, { shape: [V, 1], device: tokens.device }));
      this.#padTables.set(tokens.device, table);
    }
    return embedding(tokens, table).reshape(B, T); // 0 or -Infinity per position
  }

  /** src (B, S) and tgt (B, T) token ids -> logits (B, T, tgtVocabSize); the decoder is causal. */
  forward(src: Tensor, tgt: Tensor, opts: Seq2SeqForwardOptions = {}): Tensor {
    const fn = 'models.Seq2Seq.forward';
    const o = checkOptions(fn, opts, ['srcKeyPaddingMask', 'tgtKeyPaddingMask']) as Seq2SeqForwardOptions;
    this.#checkTokens(fn, 'src', src, this.srcVocabSize);
    this.#checkTokens(fn, 'tgt', tgt, this.tgtVocabSize);
    if (src.shape[0] !== tgt.shape[0]) throw rangeError(fn, `src and tgt must have the same batch size, got ${shapeStr(src.shape)} and ${shapeStr(tgt.shape)}`);
    const srcMask = this.paddingMask(fn, 'srcKeyPaddingMask', src, o.srcKeyPaddingMask);
    const tgtMask = this.paddingMask(fn, 'tgtKeyPaddingMask', tgt, o.tgtKeyPaddingMask);
    const h = this.transformer.forward(this.embed(src, 'src'), this.embed(tgt, 'tgt'), {
      srcKeyPaddingMask: srcMask,
      memoryKeyPaddingMask: srcMask,
      tgtKeyPaddingMask: tgtMask,
      tgtIsCausal: true,
    });
    return this.generator.forward(h);
  }

  /** @internal Runs fn in eval mode without gradients, restoring each module's mode after. */
  inference<T>(fn: () => T): T {
    const modes = this.namedModules().map(([, m]) => [m, m.training] as const);
    this.eval();
    try {
      return noGrad(fn);
    } finally {
      for (const [m, t] of modes) m.training = t;
    }
  }

  /** @internal Encodes src (B, S): memory (B, S, dModel) and its op-ready mask, kept out of tidy scopes. */
  encodeForDecoding(fn: string, src: Tensor, given: KeyPaddingMask | null | undefined): { memory: Tensor; mask: Tensor | null } {
    this.#checkTokens(fn, 'src', src, this.srcVocabSize);
    return tidy(() => {
      const mask = this.paddingMask(fn, 'srcKeyPaddingMask', src, given);
      const memory = this.transformer.encoder.forward(this.embed(src, 'src'), { srcKeyPaddingMask: mask });
      return { memory: keep(memory), mask: mask && keep(mask === given ? mask.clone() : mask) };
    });
  }

  /** @internal Next-token logits (B, V) for tokens (B) at position t, advancing the cache. */
  stepLogits(tokens: Int32Array, t: number, cache: DecoderCache): Tensor {
    const x = this.embed(tensor(tokens, { shape: [tokens.length, 1], device: cache.layers[0]?.crossK.device }), 'tgt', t);
    return this.generator.forward(this.transformer.decoder.step(x, cache)).reshape(tokens.length, this.tgtVocabSize);
  }

  /** @internal Checks the decoding options shared by greedy and beam search. */
  decodeOptions(fn: string, src: Tensor, opts: GreedyOptions, extra: string[]): GreedyOptions & Record<string, unknown> {
    const o = checkOptions(fn, opts, ['bosId', 'eosId', 'maxNewTokens', 'srcKeyPaddingMask', 'useCache', ...extra]) as GreedyOptions & Record<string, unknown>;
    if (opts === undefined || opts === null) throw typeError(fn, 'options { bosId, eosId } are required');
    int(fn, o.bosId, 'bosId', 0);
    int(fn, o.eosId, 'eosId', 0);
    const maxNewTokens = int(fn, o.maxNewTokens ?? this.maxLen - 1, 'maxNewTokens', 0);
    if (maxNewTokens > this.maxLen - 1) throw rangeError(fn, `maxNewTokens ${maxNewTokens} exceeds maxLen - 1 = ${this.maxLen - 1}`);
    this.#checkTokens(fn, 'src', src, this.srcVocabSize);
    return { ...o, maxNewTokens };
  }

  /**
   * Greedy decoding of src (B, S): the most likely token at each step, from bosId
   * until eosId (excluded) or maxNewTokens; returns the token ids per sequence.
   */
  greedy(src: Tensor, opts: GreedyOptions): number[][] {
    const fn = 'models.Seq2Seq.greedy';
    const o = this.decodeOptions(fn, src, opts, []);
    const B = src.shape[0];
    return this.inference(() => {
      const { memory, mask } = this.encodeForDecoding(fn, src, o.srcKeyPaddingMask);
      const cache = o.useCache === false ? null : this.transformer.decoder.createCache(memory, { memoryKeyPaddingMask: mask });
      const out: number[][] = Array.from({ length: B }, () => []);
      const done = new Array<boolean>(B).fill(false);
      const prefix: number[][] = Array.from({ length: B }, () => [o.bosId]);
      try {
        for (let t = 0; t < o.maxNewTokens! && !done.every(Boolean); t++) {
          const next = tidy(() => {
            if (cache) return argmax(this.stepLogits(Int32Array.from(prefix, (p) => p[t]), t, cache), -1).toArray();
            const tgt = tensor(Int32Array.from(prefix.flat()), { shape: [B, t + 1], device: memory.device });
            const h = this.transformer.decoder.forward(this.embed(tgt, 'tgt'), memory, { memoryKeyPaddingMask: mask, tgtIsCausal: true });
            return argmax(this.generator.forward(slice(h, 1, t, t + 1)), -1).toArray();
          });
          next.forEach((v, b) => {
            prefix[b].push(v);
            if (done[b]) return;
            if (v === o.eosId) done[b] = true;
            else out[b].push(v);
          });
        }
      } finally {
        cache?.dispose();
        memory.dispose();
        mask?.dispose();
      }
      return out;
    });
  }

  /**
   * Beam search over src (B, S) with beamSize hypotheses per sequence; returns
   * the best finished hypothesis per sequence (see seq2seq-beam.ts).
   */
  beamSearch(src: Tensor, opts: BeamSearchOptions): number[][] {
    return beamSearch(this, src, opts);
  }

  /** Frees the parameters and the cached positional table and padding masks' table. */
  dispose(): void {
    super.dispose();
    for (const m of [this.#pe, this.#padTables]) {
      m.forEach((x) => x.dispose());
      m.clear();
    }
  }

  /** Saves the parameters to a safetensors file with the config in its metadata ('cudagrad.seq2seq'). */
  save(file: string, extra: Record<string, unknown> = {}): void {
    if (typeof this.config.activation === 'function') throw typeError('models.Seq2Seq.save', 'a function activation cannot be saved in the config');
    saveSafetensors(file, this.stateDict(), { [SEQ2SEQ_KEY]: JSON.stringify({ ...this.config, device: undefined, ...extra }) });
  }

  /** A model saved by save() (the config's extra keys are ignored). */
  static load(file: string, opts: { device?: Device } = {}): Seq2Seq {
    const fn = 'models.Seq2Seq.load';
    const { tensors, metadata } = readSafetensors(file, opts);
    const json = metadata[SEQ2SEQ_KEY];
    if (!json) throw rangeError(fn, `${file} has no '${SEQ2SEQ_KEY}' config in its metadata (not saved by Seq2Seq.save)`);
    const c = JSON.parse(json) as Record<string, unknown>;
    const keys = ['srcVocabSize', 'tgtVocabSize', 'dModel', 'nhead', 'numEncoderLayers', 'numDecoderLayers', 'dimFeedforward', 'dropout', 'activation', 'layerNormEps', 'normFirst', 'maxLen', 'positional', 'padId'];
    const config = Object.fromEntries(Object.entries(c).filter(([k]) => keys.includes(k))) as unknown as Seq2SeqOptions;
    const m = new Seq2Seq({ ...config, device: opts.device });
    try {
      m.loadStateDict(tensors);
    } finally {
      Object.values(tensors).forEach((x) => x.dispose());
    }
    return m;
  }

  protected extraRepr(): string {
    return `srcVocabSize=${this.srcVocabSize}, tgtVocabSize=${this.tgtVocabSize}, dModel=${this.dModel}, maxLen=${this.maxLen}, positional=${this.positional}, padId=${this.padId}`;
  }
}
