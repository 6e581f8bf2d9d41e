// GPT: the GPT-2 architecture (decoder-only Transformer), as nanoGPT's
// model.py: token + learned position embeddings -> nLayer pre-LayerNorm blocks
// (blocks.ts) -> final LayerNorm -> LM head tied to the token embedding.
// forward(idx, targets?) -> {logits, loss}. Parameter names are GPT-2's
// ('transformer.h.0.attn.c_attn.weight', ...); loadStateDict / stateDict take
// {format: 'hf-gpt2'} for Hugging Face GPT-2 names and Conv1D layouts (hf.ts).
import { arange } from '../../creation';
import { checkOptions, describe, rangeError, shapeStr, typeError } from '../../errors';
import type { LoadStateDictResult } from '../../nn/module';
import { dropout } from '../../ops/dropout';
import { add } from '../../ops/elementwise';
import { crossEntropy } from '../../ops/loss';
import { linear } from '../../ops/matmul';
import { slice } from '../../ops/shape';
import { Tensor } from '../../tensor';
import { checkConfig, GPTModule, Transformer } from './blocks';
import type { GPTConfig, GPTOptions, KVCache } from './blocks';
import { fromHF, fromPretrained, inferConfig, savePretrained, toHF } from './hf';
import type { PretrainedOptions, StateDictFormat } from './hf';
import type { Tokenizer, TokenizerJSON } from './tokenizer';
import { generate } from './generate';
import type { GenerateOptions } from './generate';

export { checkConfig };
export type { GPTConfig, GPTOptions, KVCache };

export interface GPTOutput {
  /** (B, T, vocabSize) */
  logits: Tensor;
  /** Mean cross-entropy over the targets that are not ignoreIndex (-100), when targets were given. */
  loss: Tensor | null;
}

export class GPT extends GPTModule {
  readonly config: Required<GPTConfig>;
  readonly transformer: Transformer;

  constructor(opts: GPTOptions) {
    super();
    const fn = 'models.GPT';
    this.config = checkConfig(fn, opts);
    this.transformer = this.child('transformer', new Transformer(this.config, opts.device));
  }

  /** The embedding table that is also the LM head's weight, (vocabSize, nEmbd). */
  get lmHead(): Tensor {
    return this.transformer.wte.w;
  }

  /** Checks token ids: an int32 (B, T) tensor with T <= blockSize - pos. */
  checkIdx(fn: string, idx: unknown, pos = 0): Tensor {
    if (!(idx instanceof Tensor)) throw typeError(fn, `idx must be an int32 Tensor of shape (B, T), got ${describe(idx)}`);
    if (idx.dtype !== 'int32' || idx.ndim !== 2) throw typeError(fn, `idx must be an int32 Tensor of shape (B, T), got ${idx.describe()}`);
    const T = idx.shape[1];
    if (T === 0) throw rangeError(fn, `idx has no positions (shape ${shapeStr(idx.shape)})`);
    if (pos + T > this.config.blockSize)
      throw rangeError(fn, `sequence of length ${pos + T}${pos ? ` (${pos} cached + ${T} new)` : ''} is longer than blockSize ${this.config.blockSize}`);
    return idx;
  }

  /**
   * The final hidden states (B, T, nEmbd) after ln_f for token ids idx (B, T)
   * at positions pos.. pos+T-1; `caches` (one per layer) extend the attention
   * to the cached positions and receive the new keys and values.
   */
  hidden(idx: Tensor, opts: { pos?: number; caches?: KVCache[] } = {}): Tensor {
    const fn = 'models.GPT.forward';
    const pos = opts.pos ?? 0;
    this.checkIdx(fn, idx, pos);
    const T = idx.shape[1];
    const tr = this.transformer;
    let tok: Tensor;
    try {
      tok = tr.wte.forward(idx); // (B, T, C)
    } catch (e) {
      throw rangeError(fn, `token ids must lie in [0, ${this.config.vocabSize}) (vocabSize): ${(e as Error).message}`);
    }
    const positions = arange(pos, pos + T, { dtype: 'int32', device: idx.device });
    let x = add(tok, tr.wpe.forward(positions)); // (B, T, C) + (T, C)
    if (this.config.dropout > 0 && this.training) x = dropout(x, this.config.dropout);
    tr.h.forEach((block, i) => {
      x = block.forward(x, opts.caches?.[i]);
    });
    return tr.ln_f.forward(x);
  }

  /**
   * idx int32 (B, T) -> logits (B, T, vocabSize) and, with targets int32 (B, T),
   * the mean next-token cross-entropy (targets of -100 are ignored).
   */
  forward(idx: Tensor, targets?: Tensor | null): GPTOutput {
    const fn = 'models.GPT.forward';
    const x = this.hidden(idx);
    const [B, T] = idx.shape;
    const logits = linear(x, this.lmHead); // (B, T, V), weight tied to wte
    if (targets === undefined || targets === null) return { logits, loss: null };
    if (!(targets instanceof Tensor) || targets.dtype !== 'int32' || shapeStr(targets.shape) !== shapeStr(idx.shape))
      throw typeError(fn, `targets must be an int32 Tensor of idx's shape ${shapeStr(idx.shape)}, got ${targets instanceof Tensor ? targets.describe() : describe(targets)}`);
    const V = this.config.vocabSize;
    const loss = crossEntropy(logits.reshape(B * T, V), targets.reshape(B * T));
    return { logits, loss };
  }

  /** Logits (B, vocabSize) of the last position only, for ids after `pos` cached positions. */
  nextLogits(idx: Tensor, opts: { pos?: number; caches?: KVCache[] } = {}): Tensor {
    const x = this.hidden(idx, opts);
    const [B, T, C] = x.shape;
    const last = T === 1 ? x.reshape(B, C) : slice(x, 1, T - 1).reshape(B, C);
    return linear(last, this.lmHead);
  }

  /**
   * The parameters by name: the live tensors (format 'cudagrad', default), or
   * new tensors under HF GPT-2 names with Conv1D weights transposed ('hf-gpt2').
   */
  stateDict(opts: { format?: StateDictFormat } = {}): Record<string, Tensor> {
    const o = checkOptions('models.GPT.stateDict', opts, ['format']);
    return format('models.GPT.stateDict', o.format) === 'hf-gpt2' ? toHF(this) : super.stateDict();
  }

  /**
   * Copies a state dict into the parameters in place. format 'cudagrad'
   * (default; nanoGPT's names, an 'lm_head.weight' tied copy is accepted) or
   * 'hf-gpt2' (HF names with or without 'transformer.', Conv1D (in, out) weights).
   */
  loadStateDict(dict: Record<string, Tensor>, opts: { strict?: boolean; format?: StateDictFormat } = {}): LoadStateDictResult {
    const fn = 'models.GPT.loadStateDict';
    const o = checkOptions(fn, opts, ['strict', 'format']);
    if (dict === null || typeof dict !== 'object') throw typeError(fn, `dict must be an object of tensors, got ${describe(dict)}`);
    const hf = format(fn, o.format) === 'hf-gpt2';
    const conv = hf ? fromHF(dict) : { dict: Object.fromEntries(Object.entries(dict).filter(([k]) => k !== 'lm_head.weight')), made: [] };
    try {
      this.checkShapes(fn, conv.dict);
      return super.loadStateDict(conv.dict, { strict: o.strict as boolean | undefined });
    } finally {
      conv.made.forEach((t) => t.dispose());
    }
  }

  // A dict of another configuration gets one clear message naming both configurations.
  private checkShapes(fn: string, dict: Record<string, Tensor>): void {
    const own = new Map(this.namedParameters());
    for (const [k, t] of Object.entries(dict)) {
      const p = own.get(k);
      if (!p || !(t instanceof Tensor) || shapeStr(t.shape) === shapeStr(p.shape)) continue;
      let other = '';
      try {
        const c = inferConfig(dict, this.config.nHead);
        other = ` (the dict is for vocabSize=${c.vocabSize}, blockSize=${c.blockSize}, nLayer=${c.nLayer}, nEmbd=${c.nEmbd})`;
      } catch {
        // not enough of the dict to say
      }
      throw rangeError(fn, `'${k}' has shape ${shapeStr(t.shape)} but this model's is ${shapeStr(p.shape)}: the state dict is for another configuration${other}; this model is ${this.extraRepr()}`);
    }
  }

  /** Continues `prompt` (token ids) with up to maxNewTokens tokens (KV cache; see generate.ts). */
  generate(prompt: readonly number[], opts: GenerateOptions = {}): number[] {
    return generate(this, prompt, opts);
  }

  /** A GPT (and its tokenizer, when known) from a model folder or an HF GPT-2 safetensors file. */
  static fromPretrained(p: string, opts: PretrainedOptions = {}): GPT & { tokenizer: Tokenizer | null } {
    const { model, tokenizer } = fromPretrained(p, opts);
    return Object.assign(model, { tokenizer });
  }

  /** Writes a model folder: config.json + model.safetensors with HF GPT-2 names (loads in transformers). */
  savePretrained(dir: string, tokenizer?: Tokenizer | TokenizerJSON | null): void {
    savePretrained(this, dir, tokenizer);
  }

  protected extraRepr(): string {
    const c = this.config;
    return `vocabSize=${c.vocabSize}, blockSize=${c.blockSize}, nLayer=${c.nLayer}, nHead=${c.nHead}, nEmbd=${c.nEmbd}, dropout=${c.dropout}, bias=${c.bias}`;
  }
}

function format(fn: string, f: unknown): StateDictFormat {
  if (f === undefined || f === 'cudagrad' || f === 'hf-gpt2') return f ?? 'cudagrad';
  throw typeError(fn, `format must be 'cudagrad' or 'hf-gpt2', got ${describe(f)}`);
}
