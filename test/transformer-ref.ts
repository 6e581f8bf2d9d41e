// Float64 reference of multi-head attention and the Transformer encoder-decoder
// (torch.nn.Transformer's computation, batch first), written from the formulas
// for the tests: parameters by torch's names, plain loops, materialised
// scores. Masks are additive float64 arrays (-Infinity = excluded). Gradients
// come from central differences of these float64 functions (numericGrad64),
// accurate to ~1e-8, far below the float32 tolerances. randomize() gives a
// module's parameters known values and returns them as float64.
import * as cg from '../lib/index';
import { copyInto } from '../lib/nn/copy';
import { f32, uniform } from './oracle';

export type Params = Map<string, Float64Array>;

/** Sets every parameter to uniform values in [-0.5, 0.5) (non-trivial biases too); returns them as float64. */
export function randomize(m: cg.nn.Module, seed: number): Params {
  const p: Params = new Map();
  m.namedParameters().forEach(([n, t], i) => {
    const v = uniform(t.size, seed + 17 * i, -0.5, 0.5);
    cg.tidy(() => copyInto(t, f32(v, [...t.shape])));
    p.set(n, v);
  });
  return p;
}

export interface Seq {
  data: Float64Array;
  B: number;
  T: number;
  E: number;
}

export interface RefConfig {
  E: number;
  H: number;
  normFirst: boolean;
  eps: number;
  encLayers: number;
  decLayers: number;
}

export interface RefMasks {
  /** (B, S) additive. */
  srcKpm?: Float64Array | null;
  /** (B, T) additive. */
  tgtKpm?: Float64Array | null;
  /** (T, T) additive. */
  tgtMask?: Float64Array | null;
  /** (B, S) additive (memory key padding). */
  memKpm?: Float64Array | null;
}

/** y (N, out) = x (N, in) W^T + b. */
export function linear64(x: Float64Array, N: number, W: Float64Array, b: Float64Array | null, out: number, inp: number, rowOff = 0): Float64Array {
  const y = new Float64Array(N * out);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < out; o++) {
      let s = b ? b[rowOff + o] : 0;
      for (let i = 0; i < inp; i++) s += x[n * inp + i] * W[(rowOff + o) * inp + i];
      y[n * out + o] = s;
    }
  return y;
}

export function layerNorm64(x: Float64Array, C: number, w: Float64Array, b: Float64Array, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / C; r++) {
    let m = 0;
    for (let c = 0; c < C; c++) m += x[r * C + c];
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[r * C + c] - m) ** 2;
    const rs = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) y[r * C + c] = (x[r * C + c] - m) * rs * w[c] + b[c];
  }
  return y;
}

const addArr = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]);

/**
 * Multi-head attention of q (B, Tq, E) over kv (B, Tk, E) with torch's in_proj /
 * out_proj parameters under `pre` ('...self_attn.'); masks additive: kpm (B, Tk),
 * attn (Tq, Tk); causal: key j visible to query i iff j <= i + Tk - Tq.
 * A row with every key excluded gives zeros (as the fused op).
 */
export function mha64(p: Params, pre: string, q: Seq, kv: Seq, H: number, kpm: Float64Array | null, attn: Float64Array | null, causal: boolean, value?: Seq): Float64Array {
  const { B, E } = q;
  const Tq = q.T;
  const Tk = kv.T;
  const D = E / H;
  const W = p.get(`${pre}in_proj_weight`)!;
  const bias = p.get(`${pre}in_proj_bias`) ?? null;
  const Q = linear64(q.data, B * Tq, W, bias, E, E, 0);
  const K = linear64(kv.data, B * Tk, W, bias, E, E, E);
  const V = linear64((value ?? kv).data, B * Tk, W, bias, E, E, 2 * E);
  const o = new Float64Array(B * Tq * E);
  const s = new Float64Array(Tk);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Tq; i++) {
        let mx = -Infinity;
        for (let j = 0; j < Tk; j++) {
          let d = 0;
          for (let c = 0; c < D; c++) d += Q[(b * Tq + i) * E + h * D + c] * K[(b * Tk + j) * E + h * D + c];
          let v = d / Math.sqrt(D);
          if (kpm) v += kpm[b * Tk + j];
          if (attn) v += attn[i * Tk + j];
          if (causal && j > i + Tk - Tq) v = -Infinity;
          s[j] = v;
          mx = Math.max(mx, v);
        }
        if (mx === -Infinity) continue;
        let z = 0;
        for (let j = 0; j < Tk; j++) z += (s[j] = Math.exp(s[j] - mx));
        for (let c = 0; c < D; c++) {
          let acc = 0;
          for (let j = 0; j < Tk; j++) acc += (s[j] / z) * V[(b * Tk + j) * E + h * D + c];
          o[(b * Tq + i) * E + h * D + c] = acc;
        }
      }
  return linear64(o, B * Tq, p.get(`${pre}out_proj.weight`)!, p.get(`${pre}out_proj.bias`) ?? null, E, E);
}

function ff64(p: Params, pre: string, x: Float64Array, N: number, E: number): Float64Array {
  const W1 = p.get(`${pre}linear1.weight`)!;
  const F = W1.length / E;
  const h = linear64(x, N, W1, p.get(`${pre}linear1.bias`)!, F, E).map((v) => Math.max(0, v));
  return linear64(h, N, p.get(`${pre}linear2.weight`)!, p.get(`${pre}linear2.bias`)!, E, F);
}

const norm = (p: Params, pre: string, x: Float64Array, c: RefConfig) => layerNorm64(x, c.E, p.get(`${pre}weight`)!, p.get(`${pre}bias`)!, c.eps);

export function encoderLayer64(p: Params, pre: string, x: Seq, c: RefConfig, kpm: Float64Array | null): Seq {
  const N = x.B * x.T;
  const sa = (h: Float64Array) => mha64(p, `${pre}self_attn.`, { ...x, data: h }, { ...x, data: h }, c.H, kpm, null, false);
  let y = x.data;
  if (c.normFirst) {
    y = addArr(y, sa(norm(p, `${pre}norm1.`, y, c)));
    y = addArr(y, ff64(p, pre, norm(p, `${pre}norm2.`, y, c), N, c.E));
  } else {
    y = norm(p, `${pre}norm1.`, addArr(y, sa(y)), c);
    y = norm(p, `${pre}norm2.`, addArr(y, ff64(p, pre, y, N, c.E)), c);
  }
  return { ...x, data: y };
}

export function decoderLayer64(p: Params, pre: string, x: Seq, mem: Seq, c: RefConfig, m: RefMasks): Seq {
  const N = x.B * x.T;
  const sa = (h: Float64Array) => mha64(p, `${pre}self_attn.`, { ...x, data: h }, { ...x, data: h }, c.H, m.tgtKpm ?? null, m.tgtMask ?? null, false);
  const ca = (h: Float64Array) => mha64(p, `${pre}multihead_attn.`, { ...x, data: h }, mem, c.H, m.memKpm ?? null, null, false);
  let y = x.data;
  if (c.normFirst) {
    y = addArr(y, sa(norm(p, `${pre}norm1.`, y, c)));
    y = addArr(y, ca(norm(p, `${pre}norm2.`, y, c)));
    y = addArr(y, ff64(p, pre, norm(p, `${pre}norm3.`, y, c), N, c.E));
  } else {
    y = norm(p, `${pre}norm1.`, addArr(y, sa(y)), c);
    y = norm(p, `${pre}norm2.`, addArr(y, ca(y)), c);
    y = norm(p, `${pre}norm3.`, addArr(y, ff64(p, pre, y, N, c.E)), c);
  }
  return { ...x, data: y };
}

/** torch.nn.Transformer(src, tgt, masks) in float64: (B, T, E). */
export function transformer64(p: Params, src: Seq, tgt: Seq, c: RefConfig, m: RefMasks): Float64Array {
  let mem = src;
  for (let l = 0; l < c.encLayers; l++) mem = encoderLayer64(p, `encoder.layers.${l}.`, mem, c, m.srcKpm ?? null);
  mem = { ...mem, data: norm(p, 'encoder.norm.', mem.data, c) };
  let y = tgt;
  for (let l = 0; l < c.decLayers; l++) y = decoderLayer64(p, `decoder.layers.${l}.`, y, mem, c, m);
  return norm(p, 'decoder.norm.', y.data, c);
}

/** d f / d x by central differences in float64 (h = 1e-5 relative to 1). */
export function numericGrad64(f: () => number, x: Float64Array, h = 1e-5): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i];
    x[i] = x0 + h;
    const fp = f();
    x[i] = x0 - h;
    const fm = f();
    x[i] = x0;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** An additive float64 mask from 0/1 padding flags (1 = excluded). */
export const additive = (flags: ArrayLike<number>) => Float64Array.from(flags, (v) => (v ? -Infinity : 0));

/** The (T, T) causal additive mask. */
export function causal64(T: number): Float64Array {
  const m = new Float64Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -Infinity;
  return m;
}
