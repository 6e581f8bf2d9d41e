// GPT-2 compatibility: state dicts with Hugging Face GPT-2 names and layouts,
// and model folders laid out as Hugging Face's (config.json +
// model.safetensors), so real GPT-2 checkpoints run and cudagrad's models load
// in transformers.
//   HF names: [transformer.]wte.weight, wpe.weight, h.N.ln_1.{weight,bias},
//   h.N.attn.c_attn.{weight,bias}, h.N.attn.c_proj.*, h.N.ln_2.*, h.N.mlp.c_fc.*,
//   h.N.mlp.c_proj.*, ln_f.*; the four Conv1D weights are stored (in, out) and
//   are transposed to (out, in) here (a copy; bit-exact both ways). The causal
//   mask buffers (attn.bias, attn.masked_bias) are skipped; lm_head.weight is
//   tied to wte and skipped (it must equal wte when present).
// Folder config.json: HF's GPT2Config keys plus a "cudagrad" object (bias,
// tokenizer). Without it, vocab 50257 means GPT-2's BPE.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Device } from '../../device';
import { describe, rangeError, shapeStr, typeError } from '../../errors';
import { writeFileAtomic } from '../../io/atomic';
import { readSafetensors, saveSafetensors } from '../../io/safetensors';
import { transpose } from '../../ops/shape';
import { noGrad } from '../../autograd';
import { Tensor } from '../../tensor';
import { checkConfig, GPT } from './model';
import type { GPTConfig } from './model';
import { GPT2Tokenizer, tokenizerFromJSON } from './tokenizer';
import type { Tokenizer, TokenizerJSON } from './tokenizer';

export type StateDictFormat = 'cudagrad' | 'hf-gpt2';

const CONV1D = /^h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
const BUFFER = /^h\.\d+\.attn\.(bias|masked_bias)$/;

/** A cudagrad (nanoGPT-named) dict from an HF GPT-2 dict: new tensors where transposed, the same ones otherwise. */
export function fromHF(dict: Record<string, Tensor>): { dict: Record<string, Tensor>; made: Tensor[] } {
  const fn = 'models.GPT.loadStateDict';
  const out: Record<string, Tensor> = {};
  const made: Tensor[] = [];
  let lmHead: Tensor | null = null;
  noGrad(() => {
    for (const [key, t] of Object.entries(dict)) {
      const k = key.startsWith('transformer.') ? key.slice(12) : key;
      if (BUFFER.test(k)) continue;
      if (k === 'lm_head.weight') {
        lmHead = t;
        continue;
      }
      if (!(t instanceof Tensor)) throw typeError(fn, `dict['${key}'] must be a Tensor, got ${describe(t)}`);
      if (CONV1D.test(k)) {
        if (t.ndim !== 2) throw rangeError(fn, `dict['${key}'] is a Conv1D weight (in, out) but has shape ${shapeStr(t.shape)}`);
        const tt = transpose(t, 0, 1);
        made.push(tt);
        out[`transformer.${k}`] = tt;
      } else {
        out[`transformer.${k}`] = t;
      }
    }
  });
  const wte = out['transformer.wte.weight'];
  const head = lmHead as Tensor | null;
  if (head && wte && head !== wte) {
    const a = head.toArray();
    const b = wte.toArray();
    if (a.length !== b.length || a.some((v, i) => v !== b[i])) throw rangeError(fn, 'lm_head.weight differs from wte.weight: cudagrad GPTs tie the LM head to the token embedding');
  }
  return { dict: out, made };
}

/** The model's parameters under HF GPT-2 names ('transformer.' prefix), Conv1D weights transposed to (in, out) (new tensors). */
export function toHF(model: GPT): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  noGrad(() => {
    for (const [name, p] of model.namedParameters()) {
      const k = name.slice(12); // 'transformer.'
      out[name] = CONV1D.test(k) ? transpose(p, 0, 1) : p.detach();
    }
  });
  return out;
}

/** Infers a config from a (cudagrad-named) dict's shapes; nHead cannot be inferred (GPT-2's rule nEmbd / 64 unless given). */
export function inferConfig(dict: Record<string, Tensor>, nHead?: number): GPTConfig {
  const fn = 'models.GPT.fromPretrained';
  const wte = dict['transformer.wte.weight'];
  const wpe = dict['transformer.wpe.weight'];
  if (!wte || !wpe) throw rangeError(fn, 'the state dict has no wte.weight / wpe.weight: not a GPT-2 state dict');
  let nLayer = 0;
  for (const k of Object.keys(dict)) {
    const m = /^transformer\.h\.(\d+)\./.exec(k);
    if (m) nLayer = Math.max(nLayer, Number(m[1]) + 1);
  }
  const nEmbd = wte.shape[1];
  const bias = dict['transformer.ln_f.bias'] !== undefined;
  return { vocabSize: wte.shape[0], blockSize: wpe.shape[0], nLayer, nHead: nHead ?? Math.max(1, Math.round(nEmbd / 64)), nEmbd, bias };
}

/** The config.json of a model folder: HF GPT2Config keys + cudagrad's extras. */
export function hfConfigJSON(cfg: Required<GPTConfig>, tokenizer?: Tokenizer | TokenizerJSON | null): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: cfg.vocabSize,
    n_positions: cfg.blockSize,
    n_ctx: cfg.blockSize,
    n_embd: cfg.nEmbd,
    n_layer: cfg.nLayer,
    n_head: cfg.nHead,
    activation_function: 'gelu_new',
    layer_norm_epsilon: 1e-5,
    resid_pdrop: cfg.dropout,
    embd_pdrop: cfg.dropout,
    attn_pdrop: 0,
    tie_word_embeddings: true,
    cudagrad: { bias: cfg.bias, tokenizer: tokenizer ? ('toJSON' in tokenizer ? tokenizer.toJSON() : tokenizer) : null },
  };
}

/** GPTConfig and tokenizer from a config.json object (HF's keys). */
export function configFromHF(j: Record<string, unknown>, where: string): { config: GPTConfig; tokenizer: Tokenizer | null } {
  const fn = 'models.GPT.fromPretrained';
  const num = (...keys: string[]) => {
    for (const k of keys) if (typeof j[k] === 'number') return j[k] as number;
    throw rangeError(fn, `${where}: config.json has no ${keys.join(' / ')}`);
  };
  const extra = (j.cudagrad ?? {}) as { bias?: boolean; tokenizer?: TokenizerJSON | null };
  const config: GPTConfig = {
    vocabSize: num('vocab_size'),
    blockSize: num('n_positions', 'n_ctx'),
    nLayer: num('n_layer'),
    nHead: num('n_head'),
    nEmbd: num('n_embd'),
    bias: extra.bias ?? true,
  };
  const tokenizer = extra.tokenizer ? tokenizerFromJSON(extra.tokenizer) : config.vocabSize === 50257 ? new GPT2Tokenizer() : null;
  return { config, tokenizer };
}

export interface PretrainedOptions {
  device?: Device;
  /** Heads, when loading a bare safetensors file (default nEmbd / 64, GPT-2's rule). */
  nHead?: number;
  /** Dropout of the loaded model (for fine-tuning; default 0). */
  dropout?: number;
}

/**
 * A GPT from a model folder (config.json + model.safetensors, HF names) or a
 * bare safetensors file with HF GPT-2 names (config inferred from the shapes).
 */
export function fromPretrained(p: string, opts: PretrainedOptions = {}): { model: GPT; tokenizer: Tokenizer | null } {
  const fn = 'models.GPT.fromPretrained';
  if (typeof p !== 'string' || p === '') throw typeError(fn, `path must be a folder or a .safetensors file, got ${describe(p)}`);
  if (!fs.existsSync(p)) throw rangeError(fn, `${p} does not exist`);
  const dir = fs.statSync(p).isDirectory();
  const file = dir ? path.join(p, 'model.safetensors') : p;
  if (!fs.existsSync(file)) throw rangeError(fn, `${file} does not exist (a model folder holds config.json and model.safetensors)`);
  const { tensors } = readSafetensors(file, { device: 'cpu' });
  try {
    const conv = fromHF(tensors);
    try {
      let config: GPTConfig;
      let tokenizer: Tokenizer | null = null;
      const cfgFile = path.join(dir ? p : path.dirname(p), 'config.json');
      if (fs.existsSync(cfgFile)) ({ config, tokenizer } = configFromHF(JSON.parse(fs.readFileSync(cfgFile, 'utf8')), cfgFile));
      else {
        config = inferConfig(conv.dict, opts.nHead);
        if (config.vocabSize === 50257) tokenizer = new GPT2Tokenizer();
      }
      const model = new GPT({ ...checkConfig(fn, { ...config, dropout: opts.dropout ?? 0 }), device: opts.device ?? 'cpu' });
      model.loadStateDict(conv.dict);
      if (opts.device) model.to(opts.device);
      return { model, tokenizer };
    } finally {
      conv.made.forEach((t) => t.dispose());
    }
  } finally {
    Object.values(tensors).forEach((t) => t.dispose());
  }
}

/** Writes `dir`/config.json and `dir`/model.safetensors (HF GPT-2 names and layout), atomically. */
export function savePretrained(model: GPT, dir: string, tokenizer?: Tokenizer | TokenizerJSON | null): void {
  if (tokenizer) {
    // A character tokenizer must cover the vocabulary exactly; GPT-2's BPE may sit in a padded one (50304).
    const tok = 'encode' in tokenizer ? tokenizer : tokenizerFromJSON(tokenizer);
    const V = model.config.vocabSize;
    const fits = tok instanceof GPT2Tokenizer ? tok.vocabSize <= V : tok.vocabSize === V;
    if (!fits) throw rangeError('models.GPT.savePretrained', `the tokenizer has ${tok.vocabSize} tokens but the model's vocabulary is ${V}`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const dict = toHF(model);
  try {
    saveSafetensors(path.join(dir, 'model.safetensors'), dict, { format: 'pt' });
  } finally {
    Object.values(dict).forEach((t) => t.dispose());
  }
  writeFileAtomic(path.join(dir, 'config.json'), [Buffer.from(JSON.stringify(hfConfigJSON(model.config, tokenizer), null, 2) + '\n')]);
}
