// GPT's configuration and building blocks (nanoGPT's model.py): the
// parameter-holding pieces with GPT-2's initialisation (N(0, 0.02) weights,
// zero biases, residual projections N(0, 0.02/sqrt(2 nLayer))), causal
// self-attention through the fused cg.attention op (the T x T score matrix is
// never materialised; an optional per-layer KV cache), the 4x tanh-GELU MLP,
// the pre-LayerNorm block and the 'transformer' container (wte, wpe, h.N, ln_f).
// Linear weights are stored (out, in) as torch.nn.Linear (nanoGPT).
// The attention op has no dropout on the attention probabilities: with
// dropout > 0 only the embedding and residual dropouts apply.
import { ones, randn, zeros } from '../../creation';
import type { Device } from '../../device';
import { checkOptions, describe, rangeError, typeError } from '../../errors';
import { Module } from '../../nn/module';
import { gelu } from '../../ops/activation';
import { attention } from '../../ops/attention';
import { dropout } from '../../ops/dropout';
import { add } from '../../ops/elementwise';
import { embedding } from '../../ops/embedding';
import { layerNorm } from '../../ops/layernorm';
import { linear } from '../../ops/matmul';
import { concat, permute, split } from '../../ops/shape';
import { Tensor } from '../../tensor';

export interface GPTConfig {
  vocabSize: number;
  /** Maximum sequence length (rows of the position embedding). */
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  /** Embedding and residual dropout (default 0). */
  dropout?: number;
  /** Biases in the linear layers and LayerNorms (default true, as GPT-2). */
  bias?: boolean;
}

export interface GPTOptions extends GPTConfig {
  device?: Device;
}

/** One layer's cached keys and values, (B, H, Tc, D) each; null before the first call. */
export interface KVCache {
  k: Tensor | null;
  v: Tensor | null;
}

const CONFIG_KEYS = ['vocabSize', 'blockSize', 'nLayer', 'nHead', 'nEmbd', 'dropout', 'bias'];

/** Validates a config (throws naming `fn`); returns it with the defaults filled in. */
export function checkConfig(fn: string, c: unknown): Required<GPTConfig> {
  const o = checkOptions(fn, c, [...CONFIG_KEYS, 'device']);
  const int = (k: string, min: number) => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw (typeof v === 'number' ? rangeError : typeError)(fn, `${k} must be an integer >= ${min}, got ${describe(v)}`);
    return v;
  };
  const cfg = {
    vocabSize: int('vocabSize', 1),
    blockSize: int('blockSize', 1),
    nLayer: int('nLayer', 0),
    nHead: int('nHead', 1),
    nEmbd: int('nEmbd', 1),
    dropout: o.dropout === undefined ? 0 : (o.dropout as number),
    bias: o.bias === undefined ? true : (o.bias as boolean),
  };
  if (typeof cfg.dropout !== 'number' || !(cfg.dropout >= 0 && cfg.dropout < 1)) throw rangeError(fn, `dropout must be a number in [0, 1), got ${describe(o.dropout)}`);
  if (typeof cfg.bias !== 'boolean') throw typeError(fn, `bias must be a boolean, got ${describe(o.bias)}`);
  if (cfg.nEmbd % cfg.nHead !== 0) throw rangeError(fn, `nEmbd (${cfg.nEmbd}) must be divisible by nHead (${cfg.nHead})`);
  return cfg;
}

/**
 * nn.Module with a free forward signature (GPT's forward takes a KV cache or
 * targets and returns {logits, loss}; Module's returns one tensor).
 */
export abstract class GPTModule extends Module {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  abstract forward(...args: any[]): any;

  /** registerModule for GPT pieces. */
  protected child<M extends GPTModule>(name: string, m: M): M {
    this.registerModule(name, m as unknown as Module);
    return m;
  }
}

// --- parameter-holding pieces (GPT-2 init; names as GPT-2)

export class Dense extends GPTModule {
  constructor(inF: number, outF: number, bias: boolean, std: number, device?: Device) {
    super();
    this.registerParameter('weight', randn([outF, inF], { std, device })); // (out, in)
    this.registerParameter('bias', bias ? zeros([outF], { device }) : null);
  }
  get w(): Tensor {
    return this.param('weight')!;
  }
  get b(): Tensor | null {
    return this.param('bias');
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.w, this.b);
  }
}

export class Norm extends GPTModule {
  constructor(C: number, bias: boolean, device?: Device) {
    super();
    this.registerParameter('weight', ones([C], { device }));
    this.registerParameter('bias', bias ? zeros([C], { device }) : null);
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.param('weight'), this.param('bias'), 1e-5);
  }
}

export class Table extends GPTModule {
  constructor(n: number, C: number, device?: Device) {
    super();
    this.registerParameter('weight', randn([n, C], { std: 0.02, device }));
  }
  get w(): Tensor {
    return this.param('weight')!;
  }
  forward(idx: Tensor): Tensor {
    return embedding(idx, this.w);
  }
}

export class Attention extends GPTModule {
  readonly c_attn: Dense;
  readonly c_proj: Dense;
  constructor(
    private readonly cfg: Required<GPTConfig>,
    device?: Device,
  ) {
    super();
    const C = cfg.nEmbd;
    this.c_attn = this.child('c_attn', new Dense(C, 3 * C, cfg.bias, 0.02, device));
    this.c_proj = this.child('c_proj', new Dense(C, C, cfg.bias, 0.02 / Math.sqrt(2 * cfg.nLayer), device));
  }

  /** x (B, T, C) -> (B, T, C); with a cache, x holds the positions after the cached ones. */
  forward(x: Tensor, cache?: KVCache): Tensor {
    const [B, T, C] = x.shape;
    const H = this.cfg.nHead;
    const D = C / H;
    const qkv = this.c_attn.forward(x).reshape(B, T, 3, H, D);
    const [q, k0, v0] = split(permute(qkv, [2, 0, 3, 1, 4]), [1, 1, 1], 0).map((t) => t.reshape(B, H, T, D)); // (B, H, T, D)
    let k = k0;
    let v = v0;
    if (cache) {
      if (cache.k && cache.v) {
        k = concat([cache.k, k0], 2); // (B, H, Tc + T, D)
        v = concat([cache.v, v0], 2);
      }
      cache.k = k;
      cache.v = v;
    }
    const y = attention(q, k, v, { causal: true }); // bottom-right causal: query i sees keys <= i + Tc
    return this.c_proj.forward(permute(y, [0, 2, 1, 3]).reshape(B, T, C)); // (B, T, H, D) -> (B, T, C)
  }
}

export class MLP extends GPTModule {
  readonly c_fc: Dense;
  readonly c_proj: Dense;
  constructor(cfg: Required<GPTConfig>, device?: Device) {
    super();
    const C = cfg.nEmbd;
    this.c_fc = this.child('c_fc', new Dense(C, 4 * C, cfg.bias, 0.02, device));
    this.c_proj = this.child('c_proj', new Dense(4 * C, C, cfg.bias, 0.02 / Math.sqrt(2 * cfg.nLayer), device));
  }
  forward(x: Tensor): Tensor {
    return this.c_proj.forward(gelu(this.c_fc.forward(x)));
  }
}

export class Block extends GPTModule {
  readonly ln_1: Norm;
  readonly attn: Attention;
  readonly ln_2: Norm;
  readonly mlp: MLP;
  constructor(
    private readonly cfg: Required<GPTConfig>,
    device?: Device,
  ) {
    super();
    this.ln_1 = this.child('ln_1', new Norm(cfg.nEmbd, cfg.bias, device));
    this.attn = this.child('attn', new Attention(cfg, device));
    this.ln_2 = this.child('ln_2', new Norm(cfg.nEmbd, cfg.bias, device));
    this.mlp = this.child('mlp', new MLP(cfg, device));
  }
  forward(x: Tensor, cache?: KVCache): Tensor {
    const p = this.cfg.dropout;
    const drop = (t: Tensor) => (p > 0 && this.training ? dropout(t, p) : t);
    x = add(x, drop(this.attn.forward(this.ln_1.forward(x), cache)));
    return add(x, drop(this.mlp.forward(this.ln_2.forward(x))));
  }
}

/** The container named 'transformer' in GPT-2 (wte, wpe, h.N, ln_f). */
export class Transformer extends GPTModule {
  readonly wte: Table;
  readonly wpe: Table;
  readonly h: Block[] = [];
  readonly ln_f: Norm;
  constructor(cfg: Required<GPTConfig>, device?: Device) {
    super();
    this.wte = this.child('wte', new Table(cfg.vocabSize, cfg.nEmbd, device));
    this.wpe = this.child('wpe', new Table(cfg.blockSize, cfg.nEmbd, device));
    const list = this.child('h', new ModuleList());
    for (let i = 0; i < cfg.nLayer; i++) this.h.push(list.add(String(i), new Block(cfg, device)));
    this.ln_f = this.child('ln_f', new Norm(cfg.nEmbd, cfg.bias, device));
  }
  forward(): Tensor {
    throw new Error('GPT transformer: call GPT.forward');
  }
}

export class ModuleList extends GPTModule {
  add<M extends GPTModule>(name: string, m: M): M {
    return this.child(name, m);
  }
  forward(): Tensor {
    throw new Error('ModuleList has no forward');
  }
}
