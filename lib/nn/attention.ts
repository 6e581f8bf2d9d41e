// nn.MultiheadAttention: multi-head scaled-dot-product attention on batch-first
// inputs, query (B, Tq, E), key and value (B, Tk, E), with torch.nn.
// MultiheadAttention's parameters (in_proj_weight (3E, E), in_proj_bias (3E),
// out_proj.weight (E, E), out_proj.bias (E): PyTorch state dicts load as is).
// Masks follow PyTorch at the API:
//   keyPaddingMask (B, Tk): int32 with 1 = ignore this key (PyTorch's bool
//     True) and 0 = attend, a boolean[][] (true = ignore), or float32 added to
//     the scores (-Infinity = ignore);
//   attnMask (Tq, Tk) or (B * H, Tq, Tk): float32 added to the scores, or
//     int32 with 1 = not allowed; isCausal: query i sees keys j <= i.
// The fused cg.attention op runs whenever it can: no mask, a key-padding mask,
// causality (isCausal, or an attnMask that is the square subsequent mask). A
// general attnMask, or attention-weight dropout while training, takes the
// unfused composition (matmul, softmax, dropout, matmul): same numbers up to
// rounding, more memory. The fused op gives zeros for a query whose keys are
// all masked (PyTorch gives NaN); the unfused path gives NaN there too.
import { noGrad } from '../autograd';
import { rand, tensor, zeros } from '../creation';
import type { Device } from '../device';
import { parseDevice } from '../device';
import { checkOptions, describe, rangeError, shapeStr, typeError } from '../errors';
import { attention } from '../ops/attention';
import { dropout } from '../ops/dropout';
import { add, mul } from '../ops/elementwise';
import { embedding } from '../ops/embedding';
import { linear, matmul } from '../ops/matmul';
import { permute, split, transpose } from '../ops/shape';
import { softmax } from '../ops/softmax';
import { keep, tidy } from '../scope';
import { Tensor } from '../tensor';
import { copyInto } from './copy';
import { Linear } from './layers';
import { Module } from './module';

/** A key-padding mask (B, Tk): int32 (1 = ignore), float32 (added), or booleans (true = ignore). */
export type KeyPaddingMask = Tensor | readonly (readonly boolean[])[];

export interface AttentionMaskOptions {
  /** (B, Tk): keys to ignore (PyTorch's key_padding_mask convention). */
  keyPaddingMask?: KeyPaddingMask | null;
  /** (Tq, Tk) or (B * numHeads, Tq, Tk): float32 added to the scores, or int32 with 1 = not allowed. */
  attnMask?: Tensor | null;
  /** Query i attends to keys j <= i + (Tk - Tq) only (the square subsequent mask when Tq = Tk). */
  isCausal?: boolean;
}

export interface MultiheadAttentionOptions {
  /** Dropout on the attention weights while training (default 0). */
  dropout?: number;
  /** Input and output projection biases (default true). */
  bias?: boolean;
  device?: Device;
}

// --- masks

const causalMasks = new WeakSet<Tensor>();
const causalSeen = new WeakMap<Tensor, boolean>();

/** @internal Marks `t` as a square subsequent mask (so attention runs causally, fused). */
export function markCausal(t: Tensor): Tensor {
  causalMasks.add(t);
  return t;
}

// Whether a (T, T) mask is exactly the square subsequent mask (float: 0 on and
// below the diagonal, -Infinity above; int32: 0 and 1). Read once per tensor.
function isCausalMask(m: Tensor): boolean {
  if (causalMasks.has(m)) return true;
  if (m.ndim !== 2 || m.shape[0] !== m.shape[1]) return false;
  const known = causalSeen.get(m);
  if (known !== undefined) return known;
  const v = m.toArray();
  const T = m.shape[0];
  const above = m.dtype === 'int32' ? 1 : -Infinity;
  let ok = true;
  for (let i = 0; i < T && ok; i++) for (let j = 0; j < T && ok; j++) ok = v[i * T + j] === (j > i ? above : 0);
  causalSeen.set(m, ok);
  return ok;
}

const tables = new Map<string, Tensor>();

// [[0], [-Infinity]] on `device`: int32 0/1 masks become additive float masks by an
// embedding lookup (device-side, no read-back; values other than 0 and 1 are an error).
function boolTable(device: Device): Tensor {
  let t = tables.get(device);
  if (!t || t.isDisposed) {
    t = keep(noGrad(() => tensor(Float32Array.from([0, -Infinity]), { shape: [2, 1], device })));
    tables.set(device, t);
  }
  return t;
}

/** @internal An int32 0/1 tensor as an additive float32 mask (0 / -Infinity) of the same shape. */
export function boolToAdditive(fn: string, name: string, m: Tensor): Tensor {
  try {
    return embedding(m, boolTable(m.device)).reshape(m.shape);
  } catch (e) {
    if (e instanceof RangeError) throw rangeError(fn, `${name} (int32) must hold 0 (attend) and 1 (ignore) only: ${e.message}`);
    throw e;
  }
}

/**
 * @internal The key-padding mask as the fused op takes it: float32 (B, Tk),
 * additive, on `device`; null for none. Checks the shape against (B, Tk).
 */
export function keyPaddingForOp(fn: string, name: string, m: KeyPaddingMask | null | undefined, B: number, Tk: number, device: Device): Tensor | null {
  if (m === undefined || m === null) return null;
  if (Array.isArray(m)) {
    const rows = m as readonly (readonly boolean[])[];
    if (rows.length !== B || rows.some((r) => !Array.isArray(r) || r.length !== Tk))
      throw rangeError(fn, `${name} must have shape (B, Tk) = ${shapeStr([B, Tk])}, got an array of ${rows.length} rows of lengths [${rows.map((r) => (Array.isArray(r) ? r.length : '?')).join(', ')}]`);
    const v = new Float32Array(B * Tk);
    rows.forEach((r, b) =>
      r.forEach((x, j) => {
        if (typeof x !== 'boolean') throw typeError(fn, `${name}[${b}][${j}] must be a boolean (true = ignore), got ${describe(x)}`);
        v[b * Tk + j] = x ? -Infinity : 0;
      }),
    );
    return tensor(v, { shape: [B, Tk], device });
  }
  if (!(m instanceof Tensor)) throw typeError(fn, `${name} must be a Tensor (B, Tk) or an array of boolean rows, got ${describe(m)}`);
  if (m.ndim !== 2 || m.shape[0] !== B || m.shape[1] !== Tk) throw rangeError(fn, `${name} must have shape (B, Tk) = ${shapeStr([B, Tk])}, got ${shapeStr(m.shape)}`);
  if (m.device !== device) throw rangeError(fn, `${name} is on ${m.device} but the inputs are on ${device}`);
  return m.dtype === 'int32' ? boolToAdditive(fn, name, m) : m;
}

// --- module

// Xavier (Glorot) uniform values for a (fanOut, fanIn) weight, as torch.nn.init.xavier_uniform_.
export function xavierUniform(t: Tensor): void {
  const [fanOut, fanIn] = [t.shape[0], t.size / t.shape[0]];
  const a = Math.sqrt(6 / (fanIn + fanOut));
  noGrad(() => {
    const r = rand(t.shape, { low: -a, high: a, device: t.device });
    copyInto(t, r);
    r.dispose();
  });
}

export class MultiheadAttention extends Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly dropout: number;
  readonly outProj: Linear;

  constructor(embedDim: number, numHeads: number, opts: MultiheadAttentionOptions = {}) {
    super();
    const fn = 'nn.MultiheadAttention';
    const o = checkOptions(fn, opts, ['dropout', 'bias', 'device']);
    for (const [n, v] of [['embedDim', embedDim], ['numHeads', numHeads]] as const)
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw (typeof v === 'number' ? rangeError : typeError)(fn, `${n} must be an integer >= 1, got ${describe(v)}`);
    if (embedDim % numHeads !== 0) throw rangeError(fn, `embedDim ${embedDim} must be divisible by numHeads ${numHeads}`);
    const p = o.dropout ?? 0;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw rangeError(fn, `dropout must be a number in [0, 1], got ${describe(p)}`);
    if (o.bias !== undefined && typeof o.bias !== 'boolean') throw typeError(fn, `bias must be a boolean, got ${describe(o.bias)}`);
    const bias = o.bias !== false;
    const device = o.device === undefined ? undefined : parseDevice(fn, o.device);
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    this.dropout = p;
    // torch's init: xavier-uniform in_proj_weight, zero biases, out_proj.weight as nn.Linear.
    const w = this.registerParameter('in_proj_weight', zeros([3 * embedDim, embedDim], { device }))!;
    xavierUniform(w);
    this.registerParameter('in_proj_bias', bias ? zeros([3 * embedDim], { device }) : null);
    this.outProj = this.registerModule('out_proj', new Linear(embedDim, embedDim, { bias, device }));
    if (this.outProj.bias) tidy(() => noGrad(() => copyInto(this.outProj.bias!, zeros([embedDim], { device: this.outProj.bias!.device }))));
  }

  /** (B, T, E) -> (B, H, T, D). */
  #heads(x: Tensor): Tensor {
    const [B, T] = x.shape;
    return permute(x.reshape(B, T, this.numHeads, this.headDim), [0, 2, 1, 3]);
  }

  // The projection weights and biases split into `parts` pieces of E rows.
  #weights(parts: number[]): { w: Tensor[]; b: (Tensor | null)[] } {
    const E = this.embedDim;
    const W = this.param('in_proj_weight')!;
    const bias = this.param('in_proj_bias');
    const sizes = parts.map((n) => n * E);
    const w = sizes.length === 1 ? [W] : split(W, sizes, 0);
    const b = bias === null ? sizes.map(() => null) : sizes.length === 1 ? [bias] : split(bias, sizes, 0);
    return { w, b };
  }

  // x (B, T, E) through n stacked projections -> n tensors (B, H, T, D).
  #project(x: Tensor, w: Tensor, b: Tensor | null, n: number): Tensor[] {
    const [B, T] = x.shape;
    const y = linear(x, w, b); // (B, T, n * E)
    if (n === 1) return [this.#heads(y)];
    const z = permute(y.reshape(B, T, n, this.numHeads, this.headDim), [2, 0, 3, 1, 4]); // (n, B, H, T, D)
    return split(z, new Array(n).fill(1), 0).map((t) => t.reshape(B, this.numHeads, T, this.headDim));
  }

  /** @internal q, k, v (B, H, T, D) of self-attention over x (B, T, E), with one projection GEMM. */
  projectSelf(x: Tensor): [Tensor, Tensor, Tensor] {
    const [q, k, v] = this.#project(x, this.param('in_proj_weight')!, this.param('in_proj_bias'), 3);
    return [q, k, v];
  }

  /** @internal q (B, H, Tq, D) of the query x (B, Tq, E). */
  projectQuery(x: Tensor): Tensor {
    const { w, b } = this.#weights([1, 2]);
    return this.#project(x, w[0], b[0], 1)[0];
  }

  /** @internal k, v (B, H, Tk, D) of key and value (B, Tk, E); one GEMM when key === value. */
  projectKeyValue(key: Tensor, value: Tensor = key): [Tensor, Tensor] {
    if (key === value) {
      const { w, b } = this.#weights([1, 2]);
      const [k, v] = this.#project(key, w[1], b[1], 2);
      return [k, v];
    }
    const { w, b } = this.#weights([1, 1, 1]);
    return [this.#project(key, w[1], b[1], 1)[0], this.#project(value, w[2], b[2], 1)[0]];
  }

  /**
   * @internal Attention of projected q (B, H, Tq, D) over k, v (B, H, Tk, D), then the
   * output projection: (B, Tq, E). `kpm` is the op-ready float mask (keyPaddingForOp).
   */
  attend(q: Tensor, k: Tensor, v: Tensor, kpm: Tensor | null, attnMask: Tensor | null, isCausal: boolean): Tensor {
    const [B, H, Tq, D] = q.shape;
    const Tk = k.shape[2];
    const drop = this.training && this.dropout > 0;
    let causal = isCausal;
    if (attnMask && !drop && isCausalMask(attnMask)) {
      causal = true;
      attnMask = null;
    }
    let o: Tensor;
    if (!drop && !attnMask) {
      o = attention(q, k, v, { causal, mask: kpm }); // fused
    } else {
      let s = mul(matmul(q, transpose(k, 2, 3)), 1 / Math.sqrt(D)); // (B, H, Tq, Tk)
      if (attnMask) {
        const am = attnMask.dtype === 'int32' ? boolToAdditive('nn.MultiheadAttention.forward', 'attnMask', attnMask) : attnMask;
        s = add(s, am.ndim === 3 ? am.reshape(B, H, Tq, Tk) : am);
      }
      if (kpm) s = add(s, kpm.reshape(B, 1, 1, Tk));
      let p = softmax(s, -1, { causal });
      if (drop) p = dropout(p, this.dropout);
      o = matmul(p, v); // (B, H, Tq, D)
    }
    const y = permute(o, [0, 2, 1, 3]).reshape(B, Tq, H * D); // (B, Tq, E)
    return this.outProj.forward(y);
  }

  /**
   * Attention of query (B, Tq, E) over key (B, Tk, E) and value (B, Tk, E)
   * (both default to the query: self-attention); returns (B, Tq, E).
   */
  forward(query: Tensor, key?: Tensor, value?: Tensor, opts: AttentionMaskOptions = {}): Tensor {
    const fn = 'nn.MultiheadAttention.forward';
    const k = key ?? query;
    const v = value ?? k;
    const o = checkOptions(fn, opts, ['keyPaddingMask', 'attnMask', 'isCausal']) as AttentionMaskOptions;
    const [B, Tq, Tk] = this.checkInputs(fn, query, k, v);
    const kpm = keyPaddingForOp(fn, 'keyPaddingMask', o.keyPaddingMask, B, Tk, query.device);
    const attnMask = checkAttnMask(fn, 'attnMask', o.attnMask, B * this.numHeads, Tq, Tk, query.device);
    if (o.isCausal !== undefined && typeof o.isCausal !== 'boolean') throw typeError(fn, `isCausal must be a boolean, got ${describe(o.isCausal)}`);
    let q: Tensor, kk: Tensor, vv: Tensor;
    if (query === k && k === v) [q, kk, vv] = this.projectSelf(query);
    else {
      q = this.projectQuery(query);
      [kk, vv] = this.projectKeyValue(k, v);
    }
    return this.attend(q, kk, vv, kpm, attnMask, o.isCausal === true);
  }

  /** @internal Checks query (B, Tq, E), key and value (B, Tk, E); returns [B, Tq, Tk]. */
  checkInputs(fn: string, query: unknown, key: unknown, value: unknown): [number, number, number] {
    const E = this.embedDim;
    const each: [string, unknown][] = [['query', query], ['key', key], ['value', value]];
    for (const [n, x] of each) {
      if (!(x instanceof Tensor)) throw typeError(fn, `${n} must be a Tensor, got ${describe(x)}`);
      if (x.dtype !== 'float32') throw typeError(fn, `${n} must be float32, got ${x.describe()}`);
      if (x.ndim !== 3 || x.shape[2] !== E) throw rangeError(fn, `${n} must have shape (B, T, embedDim = ${E}) (batch first), got ${shapeStr(x.shape)}`);
    }
    const [q, k, v] = [query, key, value] as Tensor[];
    if (k.shape[0] !== q.shape[0] || v.shape[0] !== q.shape[0])
      throw rangeError(fn, `query, key and value must have the same batch size, got ${shapeStr(q.shape)}, ${shapeStr(k.shape)}, ${shapeStr(v.shape)}`);
    if (v.shape[1] !== k.shape[1]) throw rangeError(fn, `key and value must have the same length, got ${shapeStr(k.shape)} and ${shapeStr(v.shape)}`);
    if (k.device !== q.device || v.device !== q.device) throw rangeError(fn, `query, key and value must be on one device, got ${q.device}, ${k.device}, ${v.device}`);
    return [q.shape[0], q.shape[1], k.shape[1]];
  }

  protected extraRepr(): string {
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}, dropout=${this.dropout}`;
  }
}

/** @internal Checks an attention mask: (Tq, Tk) or (BH, Tq, Tk), float32 or int32, on `device`. */
export function checkAttnMask(fn: string, name: string, m: unknown, BH: number, Tq: number, Tk: number, device: Device): Tensor | null {
  if (m === undefined || m === null) return null;
  if (!(m instanceof Tensor)) throw typeError(fn, `${name} must be a Tensor (Tq, Tk), got ${describe(m)}`);
  const ok2 = m.ndim === 2 && m.shape[0] === Tq && m.shape[1] === Tk;
  const ok3 = m.ndim === 3 && m.shape[0] === BH && m.shape[1] === Tq && m.shape[2] === Tk;
  if (!ok2 && !ok3) throw rangeError(fn, `${name} must have shape (Tq, Tk) = ${shapeStr([Tq, Tk])} or (B * numHeads, Tq, Tk) = ${shapeStr([BH, Tq, Tk])}, got ${shapeStr(m.shape)}`);
  if (m.device !== device) throw rangeError(fn, `${name} is on ${m.device} but the inputs are on ${device}`);
  return m;
}
