// Fused attention forward and backward: float64 reference with materialised
// scores (test/attention-ref.ts), on every test device (the CPU at every SIMD
// level; CUDA, a GPU or the SIMT emulator, at every matmul precision), on odd
// sizes, causal (bottom-right aligned) with Tq < Tk and Tq > Tk, float and
// int32 key-padding masks, fully masked rows, tile boundaries; backward also
// by central finite differences; bad input with exact messages.
// Tolerances: see attention-ref.ts (CPU and CUDA 'highest': out 1e-5 + 1e-4
// rel, gradients 3e-5 + 3e-4 rel; TF32 and bf16 looser); finite differences
// 2e-3 + 2e-2 rel (h = 1e-2 on float32).
import t from 'tap';

import * as cg from '../lib/index';
import { attentionBackward, attentionForward } from '../lib/ops/attention';
import { Case, checkCase, forEachDevice, inputs, label, maskTensor, reference } from './attention-ref';
import { assertClose, dot, f32, numericGrad, testDevices } from './oracle';

const CASES: Case[] = [
  { B: 1, H: 1, Tq: 1, Tk: 1, D: 1, causal: false, mask: 'none' },
  { B: 2, H: 3, Tq: 7, Tk: 7, D: 7, causal: true, mask: 'none' },
  { B: 2, H: 2, Tq: 33, Tk: 33, D: 32, causal: true, mask: 'float' },
  { B: 2, H: 1, Tq: 7, Tk: 33, D: 64, causal: true, mask: 'int' },  // Tq < Tk: decoding-like
  { B: 1, H: 2, Tq: 33, Tk: 7, D: 7, causal: true, mask: 'none' },  // Tq > Tk: queries 0..25 see no key
  { B: 2, H: 1, Tq: 33, Tk: 7, D: 33, causal: false, mask: 'int-dead' },
  { B: 3, H: 1, Tq: 7, Tk: 33, D: 1, causal: false, mask: 'float-dead' },
  { B: 1, H: 1, Tq: 257, Tk: 250, D: 64, causal: true, mask: 'none' },
  { B: 1, H: 1, Tq: 130, Tk: 257, D: 7, causal: true, mask: 'float' },
  { B: 2, H: 1, Tq: 65, Tk: 129, D: 1, causal: false, mask: 'int' },
];

t.test('forward and backward match the float64 reference on every device', async (t) => {
  const refs = CASES.map((c, n) => {
    const x = inputs(c, 100 + n);
    return reference(c, x.q, x.k, x.v, x.mask, x.dout);
  });
  await forEachDevice(t, (t, device, tol, tag) => {
    CASES.forEach((c, n) => checkCase(t, c, 100 + n, refs[n], device, tol, tag));
  });
});

t.test('tile boundaries: sizes around the 32 and 64 row tiles', async (t) => {
  const cases: Case[] = [];
  for (const T of [63, 64, 65, 128, 129])
    for (const causal of [false, true]) cases.push({ B: 1, H: 1, Tq: T, Tk: 193 - T, D: 16, causal, mask: 'none' });
  cases.push({ B: 1, H: 1, Tq: 31, Tk: 33, D: 16, causal: true, mask: 'none' }, { B: 1, H: 1, Tq: 96, Tk: 32, D: 16, causal: false, mask: 'int' });
  const refs = cases.map((c) => {
    const x = inputs(c, c.Tq);
    return reference(c, x.q, x.k, x.v, x.mask, x.dout);
  });
  await forEachDevice(t, (t, device, tol, tag) => {
    cases.forEach((c, n) => checkCase(t, c, c.Tq, refs[n], device, tol, tag));
    // Each query alone (Tq = 1, no causality) gives its row of the tiled call, wherever it sits in its tile.
    const c: Case = { B: 1, H: 2, Tq: 130, Tk: 70, D: 33, causal: false, mask: 'none' };
    const x = inputs(c, 7);
    const k = f32(x.k, [1, 2, 70, 33], device);
    const v = f32(x.v, [1, 2, 70, 33], device);
    const all = cg.attention(f32(x.q, [1, 2, 130, 33], device), k, v).toArray();
    let worst = 0;
    for (const i of [0, 1, 31, 32, 63, 64, 65, 127, 128, 129])
      for (let h = 0; h < 2; h++) {
        const qi = x.q.slice((h * 130 + i) * 33, (h * 130 + i + 1) * 33);
        const kh = f32(x.k.slice(h * 70 * 33, (h + 1) * 70 * 33), [1, 1, 70, 33], device);
        const vh = f32(x.v.slice(h * 70 * 33, (h + 1) * 70 * 33), [1, 1, 70, 33], device);
        const one = cg.attention(f32(qi, [1, 1, 1, 33], device), kh, vh).toArray();
        for (let d = 0; d < 33; d++) worst = Math.max(worst, Math.abs(one[d] - all[(h * 130 + i) * 33 + d]));
      }
    t.ok(worst <= 1e-6, `single queries match their rows (max diff ${worst})${tag}`);
  });
});

t.test('thread count does not matter (few heads: keys split over threads)', async (t) => {
  const saved = cg.getNumThreads();
  try {
    for (const c of [
      { B: 1, H: 1, Tq: 200, Tk: 300, D: 64, causal: true, mask: 'int' },
      { B: 1, H: 2, Tq: 97, Tk: 129, D: 7, causal: false, mask: 'float' },
    ] as Case[]) {
      const x = inputs(c, 11);
      const want = reference(c, x.q, x.k, x.v, x.mask, x.dout);
      for (const n of [1, 3, 8]) {
        cg.setNumThreads(n);
        t.equal(cg.getNumThreads(), n, `${n} threads`);
        checkCase(t, c, 11, want);
      }
    }
  } finally {
    cg.setNumThreads(saved);
  }
});

t.test('backward agrees with central finite differences on every device (CUDA at float32 precision)', async (t) => {
  const tiny: Case[] = [
    { B: 1, H: 2, Tq: 3, Tk: 4, D: 3, causal: false, mask: 'none' },
    { B: 2, H: 1, Tq: 4, Tk: 3, D: 2, causal: true, mask: 'float' },
    { B: 2, H: 1, Tq: 2, Tk: 5, D: 3, causal: true, mask: 'int' },
  ];
  for (const device of testDevices())
    for (const c of tiny) {
      const x = inputs(c, 42);
      const qs = [c.B, c.H, c.Tq, c.D];
      const ks = [c.B, c.H, c.Tk, c.D];
      const opts = { causal: c.causal, mask: maskTensor(c, x.mask, device) };
      const w = x.dout;
      const loss = (q: Float64Array, k: Float64Array, v: Float64Array) => dot(cg.attention(f32(q, qs, device), f32(k, ks, device), f32(v, ks, device), opts).toArray(), w);
      const [q, k, v] = [f32(x.q, qs, device), f32(x.k, ks, device), f32(x.v, ks, device)];
      const { out, lse } = attentionForward(q, k, v, opts);
      const g = attentionBackward(f32(w, qs, device), q, k, v, out, lse, opts);
      assertClose(t, g.dq.toArray(), numericGrad((z) => loss(z, x.k, x.v), x.q), 2e-3, 2e-2, `dq numeric ${label(c)} ${device}`);
      assertClose(t, g.dk.toArray(), numericGrad((z) => loss(x.q, z, x.v), x.k), 2e-3, 2e-2, `dk numeric ${label(c)} ${device}`);
      assertClose(t, g.dv.toArray(), numericGrad((z) => loss(x.q, x.k, z), x.v), 2e-3, 2e-2, `dv numeric ${label(c)} ${device}`);
    }
});

t.test('rows with no key: zeros, lse = +inf, zero gradients, never NaN', async (t) => {
  await forEachDevice(t, (t, device) => {
    // Batch 0: all keys masked (int); causal Tq > Tk: queries 0 and 1 see no key.
    const q = cg.randn([2, 1, 4, 3], { seed: 1 }).to(device);
    const k = cg.randn([2, 1, 2, 3], { seed: 2 }).to(device);
    const v = cg.randn([2, 1, 2, 3], { seed: 3 }).to(device);
    const mask = cg.tensor([[0, 0], [1, 1]], { dtype: 'int32', device });
    const opts = { causal: true, mask };
    const { out, lse } = attentionForward(q, k, v, opts);
    const o = out.toArray();
    t.same(Array.from(o.slice(0, 12)), new Array(12).fill(0), 'masked batch: zeros');
    t.same(Array.from(o.slice(12, 18)), new Array(6).fill(0), 'queries before every key: zeros');
    t.same(Array.from(lse.toArray()).slice(0, 6), new Array(6).fill(Infinity));
    t.ok(Number.isFinite(lse.toArray()[6]));
    const g = attentionBackward(cg.ones([2, 1, 4, 3], { device }), q, k, v, out, lse, opts);
    for (const [name, x] of Object.entries(g)) t.ok(x.toArray().every(Number.isFinite), `${name} finite`);
    t.same(Array.from(g.dq.toArray().slice(0, 18)), new Array(18).fill(0), 'dq zero on dead rows');
    t.same(Array.from(g.dk.toArray().slice(0, 6)), new Array(6).fill(0), 'dk zero for the masked batch');
    // Float mask of -inf everywhere.
    const fm = cg.full([2, 2], -Infinity, { device });
    t.ok(cg.attention(q, k, v, { mask: fm }).toArray().every((x) => x === 0), 'float mask -inf: zeros');
  });
});

t.test('NaN inputs give NaN where the unfused composition does; excluded keys never leak', async (t) => {
  await forEachDevice(t, (t, device) => {
    // NaN in query row 0: that row (and its lse) is NaN, the others are finite.
    const c: Case = { B: 1, H: 1, Tq: 5, Tk: 70, D: 16, causal: false, mask: 'none' };
    const x = inputs(c, 3);
    const qv = Float64Array.from(x.q);
    qv[3] = NaN;
    const r = attentionForward(f32(qv, [1, 1, 5, 16], device), f32(x.k, [1, 1, 70, 16], device), f32(x.v, [1, 1, 70, 16], device));
    const o = r.out.toArray();
    t.ok(o.slice(0, 16).every(Number.isNaN) && Number.isNaN(r.lse.toArray()[0]), 'row 0 NaN');
    t.ok(o.slice(16).every(Number.isFinite), 'rows 1.. finite');
    // NaN in key 0's k: every causal row sees key 0, so everything is NaN.
    const kv = Float64Array.from(x.k);
    kv[0] = NaN;
    t.ok(cg.attention(f32(x.q, [1, 1, 5, 16], device), f32(kv, [1, 1, 70, 16], device), f32(x.v, [1, 1, 70, 16], device), { causal: true }).toArray().every(Number.isNaN), 'NaN key seen by all');
    // NaN and Infinity in the k and v rows of keys a mask excludes (padding slots): no effect at all.
    const k2 = Float64Array.from(x.k);
    const v2 = Float64Array.from(x.v);
    const excluded = [0, 5, 63, 64, 69];
    const m = new Int32Array(70).fill(1);
    const fm = new Float32Array(70);
    for (const j of excluded) {
      m[j] = 0;
      fm[j] = -Infinity;
      for (let d = 0; d < 16; d++) {
        k2[j * 16 + d] = d % 2 ? NaN : Infinity;
        v2[j * 16 + d] = d % 2 ? -Infinity : NaN;
      }
    }
    const q = f32(x.q, [1, 1, 5, 16], device);
    const dout = f32(x.dout, [1, 1, 5, 16], device);
    const clean = { q: x.q, k: Float64Array.from(x.k), v: Float64Array.from(x.v) };
    for (const j of excluded) for (let d = 0; d < 16; d++) clean.k[j * 16 + d] = clean.v[j * 16 + d] = 0;
    for (const mask of [cg.tensor(m, { shape: [1, 70], device }), cg.tensor(fm, { shape: [1, 70], device })]) {
      for (const causal of [false, true]) {
        const opts = { causal, mask };
        const [k, v] = [f32(k2, [1, 1, 70, 16], device), f32(v2, [1, 1, 70, 16], device)];
        const { out, lse } = attentionForward(q, k, v, opts);
        const g = attentionBackward(dout, q, k, v, out, lse, opts);
        const [kc, vc] = [f32(clean.k, [1, 1, 70, 16], device), f32(clean.v, [1, 1, 70, 16], device)];
        const w = attentionForward(q, kc, vc, opts);
        const gw = attentionBackward(dout, q, kc, vc, w.out, w.lse, opts);
        const tag = `${mask.dtype} mask${causal ? ' causal' : ''}`;
        assertClose(t, out.toArray(), w.out.toArray(), 0, 0, `out ignores excluded NaN/inf keys, ${tag}`);
        assertClose(t, g.dq.toArray(), gw.dq.toArray(), 0, 0, `dq, ${tag}`);
        assertClose(t, g.dv.toArray(), gw.dv.toArray(), 0, 0, `dv, ${tag}`);
        t.ok(g.dk.toArray().every(Number.isFinite), `dk finite, ${tag}`);
      }
    }
  });
});

t.test('causal is bottom-right aligned; empty sizes', async (t) => {
  await forEachDevice(t, (t, device) => {
    const z = (shape: number[]) => cg.zeros(shape, { device });
    const ones = (shape: number[]) => cg.ones(shape, { device });
    // One query against 5 keys (KV-cache decoding): it sees every key, as without causality.
    const q = cg.randn([1, 2, 1, 8], { seed: 4, device });
    const k = cg.randn([1, 2, 5, 8], { seed: 5, device });
    const v = cg.randn([1, 2, 5, 8], { seed: 6, device });
    assertClose(t, cg.attention(q, k, v, { causal: true }).toArray(), cg.attention(q, k, v).toArray(), 0, 0, 'Tq = 1 causal = full');
    // Tk = 0: zeros; Tq = 0 and B = 0: empty results.
    const e = attentionForward(ones([1, 1, 2, 3]), z([1, 1, 0, 3]), z([1, 1, 0, 3]));
    t.same(Array.from(e.out.toArray()), [0, 0, 0, 0, 0, 0]);
    t.same(Array.from(e.lse.toArray()), [Infinity, Infinity]);
    const ge = attentionBackward(ones([1, 1, 2, 3]), ones([1, 1, 2, 3]), z([1, 1, 0, 3]), z([1, 1, 0, 3]), e.out, e.lse);
    t.same(Array.from(ge.dq.toArray()), [0, 0, 0, 0, 0, 0]);
    t.same(ge.dk.shape, [1, 1, 0, 3]);
    t.same(cg.attention(z([1, 2, 0, 4]), z([1, 2, 3, 4]), z([1, 2, 3, 4]), { causal: true }).shape, [1, 2, 0, 4]);
    t.same(cg.attention(z([0, 2, 3, 4]), z([0, 2, 3, 4]), z([0, 2, 3, 4])).shape, [0, 2, 3, 4]);
  });
});

t.test('bad input', async (t) => {
  const q = cg.zeros([2, 3, 4, 5]);
  const k = cg.zeros([2, 3, 6, 5]);
  const A = 'cudagrad.attention: ';
  const bad = (fn: () => unknown, name: string, message: string) => t.throws(fn, { name, message });
  bad(() => cg.attention(cg.zeros([3, 4, 5]), k, k), 'RangeError', `${A}q must have shape (B, H, Tq, D), got [3, 4, 5]`);
  bad(() => cg.attention(q, cg.zeros([2, 3, 6]), cg.zeros([2, 3, 6])), 'RangeError', `${A}k must have shape (B, H, Tk, D), got [2, 3, 6]`);
  bad(() => cg.attention(q, cg.zeros([2, 3, 6, 4]), cg.zeros([2, 3, 6, 4])), 'RangeError', `${A}k has shape [2, 3, 6, 4] but q has shape [2, 3, 4, 5] (B, H and D must agree)`);
  bad(() => cg.attention(q, cg.zeros([1, 3, 6, 5]), cg.zeros([1, 3, 6, 5])), 'RangeError', `${A}k has shape [1, 3, 6, 5] but q has shape [2, 3, 4, 5] (B, H and D must agree)`);
  bad(() => cg.attention(q, k, cg.zeros([2, 3, 5, 5])), 'RangeError', `${A}v has shape [2, 3, 5, 5] but k has shape [2, 3, 6, 5]`);
  bad(() => cg.attention(cg.zeros([2, 3, 4, 0]), cg.zeros([2, 3, 6, 0]), cg.zeros([2, 3, 6, 0])), 'RangeError', `${A}head size D must be at least 1, got q of shape [2, 3, 4, 0]`);
  bad(() => cg.attention(q, k, k, { mask: cg.zeros([2, 4]) }), 'RangeError', `${A}mask must have shape (B, Tk) = [2, 6], got [2, 4]`);
  bad(() => cg.attention(q, k, k, { mask: cg.zeros([2, 3, 6]) }), 'RangeError', `${A}mask must have shape (B, Tk) = [2, 6], got [2, 3, 6]`);
  bad(() => cg.attention(cg.zeros([2, 3, 4, 5], { dtype: 'int32' }), k, k), 'TypeError', `${A}q, k and v must share one dtype, float32 or bfloat16; got q int32 [2, 3, 4, 5], k float32 [2, 3, 6, 5], v float32 [2, 3, 6, 5]`);
  bad(() => cg.attention(q, k, cg.zeros([2, 3, 6, 5], { dtype: 'int32' })), 'TypeError', `${A}q, k and v must share one dtype, float32 or bfloat16; got q float32 [2, 3, 4, 5], k float32 [2, 3, 6, 5], v int32 [2, 3, 6, 5]`);
  bad(() => cg.attention(q, k, k, { causal: 1 as unknown as boolean }), 'TypeError', `${A}causal must be a boolean, got number 1`);
  bad(() => cg.attention(q, k, k, { mask: [[1]] as unknown as cg.Tensor }), 'TypeError', `${A}mask must be a Tensor, got an array`);
  bad(() => cg.attention(q, k, k, { casual: true } as unknown as cg.AttentionOptions), 'TypeError', `${A}unknown option 'casual' (expected one of causal, mask)`);
  bad(() => cg.attention(q, [1] as unknown as cg.Tensor, k), 'TypeError', `${A}k must be a Tensor, got an array`);
  const { out, lse } = attentionForward(q, k, k);
  const B = 'cudagrad.attention backward: ';
  bad(() => attentionBackward(cg.zeros([2, 3, 4, 4]), q, k, k, out, lse), 'RangeError', `${B}dout has shape [2, 3, 4, 4] but q has shape [2, 3, 4, 5]`);
  bad(() => attentionBackward(out, q, k, k, cg.zeros([2, 3, 5, 5]), lse), 'RangeError', `${B}out has shape [2, 3, 5, 5] but q has shape [2, 3, 4, 5]`);
  bad(() => attentionBackward(out, q, k, k, out, cg.zeros([2, 3, 5])), 'RangeError', `${B}lse must have shape (B, H, Tq) = [2, 3, 4], got [2, 3, 5]`);
  bad(() => attentionBackward(out, q, k, k, out, cg.zeros([2, 3, 4], { dtype: 'int32' })), 'TypeError', `${B}lse must be float32, got int32 tensor of shape [2, 3, 4]`);
  bad(() => attentionBackward(out, q, k, k, out, lse, { mask: cg.zeros([3, 6], { dtype: 'int32' }) }), 'RangeError', `${B}mask must have shape (B, Tk) = [2, 6], got [3, 6]`);
});
