// nn.MultiheadAttention against the float64 reference (test/transformer-ref.ts):
// self- and cross-attention (Tq != Tk, key !== value), key-padding masks in
// every form (int32 1 = ignore, booleans, float additive), causal, general
// float and int32 attention masks ((Tq, Tk) and (B * H, Tq, Tk): the unfused
// path), forward and the gradients of every parameter and input (float64
// central differences of the reference); a padded key changes nothing (even
// NaN there); attention-weight dropout; bad input with exact messages.
// Tolerances: forward 1e-5 + 1e-4 rel; gradients 2e-5 + 5e-4 rel (float32
// sums of ~100 terms of size ~1; observed max differences ~3e-7).
import t from 'tap';
import type { Test } from 'tap';

import * as cg from '../lib/index';
import { assertClose, dot, f32, uniform } from './oracle';
import { additive, causal64, mha64, numericGrad64, randomize } from './transformer-ref';
import type { Params, Seq } from './transformer-ref';

const nn = cg.nn;
const E = 8;
const H = 2;

interface Case {
  name: string;
  B: number;
  Tq: number;
  Tk: number;
  self: boolean;
  sepValue?: boolean;
  kpm?: 'int' | 'bool' | 'float';
  causal?: boolean;
  attn?: 'float2' | 'float3' | 'int2';
}

function checkCase(t: Test, c: Case): void {
  cg.manualSeed(1);
  const m = new nn.MultiheadAttention(E, H);
  const p = randomize(m, 100);
  const qv = uniform(c.B * c.Tq * E, 1);
  const kv = c.self ? qv : uniform(c.B * c.Tk * E, 2);
  const vv = c.sepValue ? uniform(c.B * c.Tk * E, 3) : kv;
  // Padding: the last two keys of the last batch row.
  const flags = Array.from({ length: c.B * c.Tk }, (_, i) => (i >= (c.B - 1) * c.Tk + c.Tk - 2 ? 1 : 0));
  let kpm: cg.nn.KeyPaddingMask | undefined;
  let kpm64: Float64Array | null = null;
  if (c.kpm) {
    kpm64 = additive(flags);
    if (c.kpm === 'int') kpm = cg.tensor(Int32Array.from(flags), { shape: [c.B, c.Tk] });
    else if (c.kpm === 'bool') kpm = Array.from({ length: c.B }, (_, b) => flags.slice(b * c.Tk, (b + 1) * c.Tk).map(Boolean));
    else {
      kpm64 = Float64Array.from(flags, (f, i) => (f ? -Infinity : Math.fround(-0.3 * (i % 3))));
      kpm = f32(kpm64, [c.B, c.Tk]);
    }
  }
  let attn: cg.Tensor | undefined;
  let attn64: Float64Array | null = null;
  let attnRef: (b: number, h: number) => Float64Array | null = () => null;
  if (c.attn === 'float2') {
    attn64 = uniform(c.Tq * c.Tk, 4, -1, 1);
    attn = f32(attn64, [c.Tq, c.Tk]);
  } else if (c.attn === 'int2') {
    const bad = Array.from({ length: c.Tq * c.Tk }, (_, i) => (i % 5 === 3 ? 1 : 0));
    attn64 = additive(bad);
    attn = cg.tensor(Int32Array.from(bad), { shape: [c.Tq, c.Tk] });
  } else if (c.attn === 'float3') {
    const all = uniform(c.B * H * c.Tq * c.Tk, 5, -1, 1);
    attn = f32(all, [c.B * H, c.Tq, c.Tk]);
    attnRef = (b, h) => all.slice((b * H + h) * c.Tq * c.Tk, (b * H + h + 1) * c.Tq * c.Tk);
  }
  const ref = (): Float64Array => {
    const q: Seq = { data: qv, B: c.B, T: c.Tq, E };
    const k: Seq = { data: kv, B: c.B, T: c.Tk, E };
    const v: Seq = { data: vv, B: c.B, T: c.Tk, E };
    if (c.attn !== 'float3') return mha64(p, '', q, k, H, kpm64, attn64, c.causal === true, v);
    // A per-(batch, head) mask: the reference runs one batch row and head at a time
    // (heads by zeroing the other head's output projection columns, then summing).
    const out = new Float64Array(c.B * c.Tq * E);
    const W = p.get('out_proj.weight')!;
    const bias = p.get('out_proj.bias')!;
    for (let b = 0; b < c.B; b++)
      for (let h = 0; h < H; h++) {
        const Wh = W.map((w, i) => (Math.floor((i % E) / (E / H)) === h ? w : 0));
        const ph: Params = new Map(p);
        ph.set('out_proj.weight', Wh);
        ph.set('out_proj.bias', new Float64Array(E));
        const row = (s: Seq) => ({ ...s, B: 1, data: s.data.slice(b * s.T * E, (b + 1) * s.T * E) });
        const kr = kpm64 ? kpm64.slice(b * c.Tk, (b + 1) * c.Tk) : null;
        const o = mha64(ph, '', row(q), row(k), H, kr, attnRef(b, h), c.causal === true, row(v));
        o.forEach((x, i) => (out[b * c.Tq * E + i] += x + (h === 0 ? bias[i % E] : 0)));
      }
    return out;
  };
  const q = f32(qv, [c.B, c.Tq, E]);
  q.requiresGrad = true;
  const k = c.self ? q : f32(kv, [c.B, c.Tk, E]);
  k.requiresGrad = true;
  const v = c.sepValue ? f32(vv, [c.B, c.Tk, E]) : k;
  v.requiresGrad = true;
  const out = m.forward(q, k, v, { keyPaddingMask: kpm, attnMask: attn, isCausal: c.causal });
  t.same(out.shape, [c.B, c.Tq, E]);
  assertClose(t, out.toArray(), ref(), 1e-5, 1e-4, `${c.name}: forward`);
  const w = uniform(out.size, 9);
  out.mul(f32(w, [...out.shape])).sum().backward();
  const loss = () => dot(ref(), w);
  for (const [n, prm] of m.namedParameters()) assertClose(t, prm.grad!.toArray(), numericGrad64(loss, p.get(n)!), 2e-5, 5e-4, `${c.name}: d${n}`);
  assertClose(t, q.grad!.toArray(), numericGrad64(loss, qv), 2e-5, 5e-4, `${c.name}: dquery${c.self ? ' (= key = value)' : ''}`);
  if (!c.self) assertClose(t, k.grad!.toArray(), numericGrad64(loss, kv), 2e-5, 5e-4, `${c.name}: dkey${c.sepValue ? '' : ' (= value)'}`);
  if (c.sepValue) assertClose(t, v.grad!.toArray(), numericGrad64(loss, vv), 2e-5, 5e-4, `${c.name}: dvalue`);
  m.dispose();
}

t.test('MultiheadAttention vs float64: forward and every gradient', async (t) => {
  const cases: Case[] = [
    { name: 'self, no mask', B: 2, Tq: 5, Tk: 5, self: true },
    { name: 'self, int32 key padding', B: 2, Tq: 5, Tk: 5, self: true, kpm: 'int' },
    { name: 'self, boolean key padding, causal', B: 2, Tq: 6, Tk: 6, self: true, kpm: 'bool', causal: true },
    { name: 'cross Tq 3 < Tk 7, float key padding', B: 3, Tq: 3, Tk: 7, self: false, kpm: 'float' },
    { name: 'cross Tq 6 > Tk 4, key !== value', B: 2, Tq: 6, Tk: 4, self: false, sepValue: true, kpm: 'int' },
    { name: 'float (Tq, Tk) attnMask (unfused) + key padding', B: 2, Tq: 4, Tk: 5, self: false, kpm: 'int', attn: 'float2' },
    { name: 'int32 (Tq, Tk) attnMask, 1 = not allowed (unfused)', B: 2, Tq: 5, Tk: 5, self: true, attn: 'int2' },
    { name: 'float (B * H, Tq, Tk) attnMask (unfused)', B: 2, Tq: 3, Tk: 4, self: false, attn: 'float3' },
  ];
  for (const c of cases) await t.test(c.name, async (t) => checkCase(t, c));
});

t.test('the square subsequent mask runs the fused causal kernel: equals isCausal bit for bit', async (t) => {
  cg.manualSeed(2);
  const m = new nn.MultiheadAttention(E, H);
  randomize(m, 7);
  const x = f32(uniform(2 * 6 * E, 3), [2, 6, E]);
  const a = m.forward(x, x, x, { isCausal: true }).toArray();
  const b = m.forward(x, x, x, { attnMask: nn.Transformer.generateSquareSubsequentMask(6) }).toArray();
  t.same(Array.from(b), Array.from(a), 'generateSquareSubsequentMask');
  const hand = f32(causal64(6), [6, 6]); // recognised by its values
  t.same(Array.from(m.forward(x, x, x, { attnMask: hand }).toArray()), Array.from(a), 'a hand-made -Infinity mask');
  const finite = f32(Array.from(causal64(6), (v) => (v === -Infinity ? -1e9 : 0)), [6, 6]); // not recognised: unfused path
  assertClose(t, m.forward(x, x, x, { attnMask: finite }).toArray(), a, 1e-6, 1e-5, 'a -1e9 mask through the unfused path');
});

t.test('a padded key position changes nothing, whatever it holds (even NaN)', async (t) => {
  cg.manualSeed(3);
  const m = new nn.MultiheadAttention(E, H);
  randomize(m, 9);
  const B = 2;
  const Tk = 6;
  const q = f32(uniform(B * 4 * E, 1), [B, 4, E]);
  const kv = uniform(B * Tk * E, 2);
  const kpm = cg.tensor(Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]), { shape: [B, Tk] }); // batch 1, key 3
  const base = m.forward(q, f32(kv, [B, Tk, E]), undefined, { keyPaddingMask: kpm }).toArray();
  for (const fill of [100, NaN]) {
    const kv2 = Float64Array.from(kv);
    for (let c = 0; c < E; c++) kv2[(Tk + 3) * E + c] = fill;
    const got = m.forward(q, f32(kv2, [B, Tk, E]), undefined, { keyPaddingMask: kpm }).toArray();
    t.same(Array.from(got), Array.from(base), `key 3 of batch 1 set to ${fill}: bit-identical output`);
  }
  const f = f32([0, 0, 0, 0, 0, 0, 0, 0, 0, -Infinity, 0, 0], [B, Tk]);
  const bools = [[false, false, false, false, false, false], [false, false, false, true, false, false]];
  t.same(Array.from(m.forward(q, f32(kv, [B, Tk, E]), undefined, { keyPaddingMask: f }).toArray()), Array.from(base), 'float -Infinity mask = int32 mask');
  t.same(Array.from(m.forward(q, f32(kv, [B, Tk, E]), undefined, { keyPaddingMask: bools }).toArray()), Array.from(base), 'boolean rows = int32 mask');
});

t.test('attention-weight dropout while training (unfused), none in eval mode', async (t) => {
  cg.manualSeed(4);
  const m = new nn.MultiheadAttention(E, H, { dropout: 0.5 });
  const x = f32(uniform(2 * 5 * E, 1), [2, 5, E]);
  const a = m.forward(x).toArray();
  const b = m.forward(x).toArray();
  t.not(Array.from(a).join(), Array.from(b).join(), 'training: two calls differ');
  m.eval();
  const e1 = m.forward(x).toArray();
  const m0 = new nn.MultiheadAttention(E, H);
  m0.loadStateDict(m.stateDict());
  t.same(Array.from(e1), Array.from(m0.forward(x).toArray()), 'eval: same as dropout 0');
  t.same(m.namedParameters().map(([n]) => n), ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias'], "torch's parameter names");
  t.same(new nn.MultiheadAttention(8, 2, { bias: false }).namedParameters().map(([n]) => n), ['in_proj_weight', 'out_proj.weight'], 'bias: false');
});

t.test('MultiheadAttention: bad input gets a clear error', async (t) => {
  const m = new nn.MultiheadAttention(E, H);
  const x = cg.zeros([2, 5, E]);
  t.throws(() => new nn.MultiheadAttention(10, 3), new RangeError('nn.MultiheadAttention: embedDim 10 must be divisible by numHeads 3'));
  t.throws(() => new nn.MultiheadAttention(8, 0), new RangeError('nn.MultiheadAttention: numHeads must be an integer >= 1, got number 0'));
  t.throws(() => m.forward(cg.zeros([5, E])), new RangeError('nn.MultiheadAttention.forward: query must have shape (B, T, embedDim = 8) (batch first), got [5, 8]'));
  t.throws(() => m.forward(x, cg.zeros([3, 5, E])), new RangeError('nn.MultiheadAttention.forward: query, key and value must have the same batch size, got [2, 5, 8], [3, 5, 8], [3, 5, 8]'));
  t.throws(() => m.forward(x, cg.zeros([2, 4, E]), cg.zeros([2, 3, E])), new RangeError('nn.MultiheadAttention.forward: key and value must have the same length, got [2, 4, 8] and [2, 3, 8]'));
  t.throws(() => m.forward(x, x, x, { keyPaddingMask: cg.zeros([2, 4], { dtype: 'int32' }) }), new RangeError('nn.MultiheadAttention.forward: keyPaddingMask must have shape (B, Tk) = [2, 5], got [2, 4]'));
  t.throws(() => m.forward(x, x, x, { keyPaddingMask: [[true]] }), new RangeError('nn.MultiheadAttention.forward: keyPaddingMask must have shape (B, Tk) = [2, 5], got an array of 1 rows of lengths [1]'));
  t.throws(() => m.forward(x, x, x, { attnMask: cg.zeros([5, 4]) }), new RangeError('nn.MultiheadAttention.forward: attnMask must have shape (Tq, Tk) = [5, 5] or (B * numHeads, Tq, Tk) = [4, 5, 5], got [5, 4]'));
  t.throws(() => m.forward(x, x, x, { keyPaddingMask: cg.full([2, 5], 2, { dtype: 'int32' }) }), /nn\.MultiheadAttention\.forward: keyPaddingMask \(int32\) must hold 0 \(attend\) and 1 \(ignore\) only/);
  t.throws(() => m.forward(x, x, x, { isCausal: 1 as unknown as boolean }), new TypeError('nn.MultiheadAttention.forward: isCausal must be a boolean, got number 1'));
  t.throws(() => m.forward(x, x, x, { causal: true } as never), /unknown option 'causal'/);
});
