// nn.Transformer (encoder-decoder) against the float64 reference
// (test/transformer-ref.ts) on a tiny configuration, post-norm and normFirst:
// forward with every mask, and the gradient of every parameter and of both
// inputs (float64 central differences of the reference). Masks behave: a
// padded source position changes nothing (even NaN there); a causal decoder
// never looks ahead (perturbing target position j leaves earlier outputs
// bit-identical). Stacks, names, dropout, and bad input with exact messages.
// Tolerances: forward 2e-5 + 2e-4 rel; gradients 5e-5 + 1e-3 rel (float32
// through 4 layers and 2 final norms; observed max differences ~1e-6).
import t from 'tap';

import * as cg from '../lib/index';
import { assertClose, dot, f32, uniform } from './oracle';
import { additive, causal64, numericGrad64, randomize, transformer64 } from './transformer-ref';
import type { RefConfig } from './transformer-ref';

const nn = cg.nn;
const [B, S, T, E, H, F] = [2, 5, 4, 8, 2, 12];
const srcFlags = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]; // batch 1: the last 2 source positions are padding
const tgtFlags = [0, 0, 0, 0, 0, 0, 0, 1]; // batch 1: the last target position
const srcKpm = () => cg.tensor(Int32Array.from(srcFlags), { shape: [B, S] });
const tgtKpm = () => cg.tensor(Int32Array.from(tgtFlags), { shape: [B, T] });
const arr = (x: cg.Tensor) => Array.from(x.toArray());

function tiny(normFirst: boolean, layers = 2): cg.nn.Transformer {
  return new nn.Transformer({ dModel: E, nhead: H, numEncoderLayers: layers, numDecoderLayers: layers, dimFeedforward: F, dropout: 0, normFirst });
}

for (const normFirst of [false, true]) {
  t.test(`Transformer (${normFirst ? 'normFirst' : 'post-norm'}) vs float64: forward with masks and every gradient`, async (t) => {
    cg.manualSeed(5);
    const m = tiny(normFirst);
    const p = randomize(m, 300);
    const cfg: RefConfig = { E, H, normFirst, eps: 1e-5, encLayers: 2, decLayers: 2 };
    const sv = uniform(B * S * E, 11);
    const tv = uniform(B * T * E, 12);
    const masks = { srcKpm: additive(srcFlags), tgtKpm: additive(tgtFlags), tgtMask: causal64(T), memKpm: additive(srcFlags) };
    const ref = () => transformer64(p, { data: sv, B, T: S, E }, { data: tv, B, T, E }, cfg, masks);
    const src = f32(sv, [B, S, E]);
    const tgt = f32(tv, [B, T, E]);
    src.requiresGrad = true;
    tgt.requiresGrad = true;
    const out = m.forward(src, tgt, {
      tgtMask: nn.Transformer.generateSquareSubsequentMask(T),
      srcKeyPaddingMask: srcKpm(),
      tgtKeyPaddingMask: tgtKpm(),
      memoryKeyPaddingMask: srcKpm(),
    });
    t.same(out.shape, [B, T, E]);
    assertClose(t, out.toArray(), ref(), 2e-5, 2e-4, 'forward');
    const w = uniform(out.size, 13);
    out.mul(f32(w, [B, T, E])).sum().backward();
    const loss = () => dot(ref(), w);
    let worst = 0;
    for (const [n, prm] of m.namedParameters()) {
      const g = numericGrad64(loss, p.get(n)!);
      const got = prm.grad!.toArray();
      got.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - g[i]) / (5e-5 + 1e-3 * Math.abs(g[i])))));
      if (worst > 1) {
        assertClose(t, got, g, 5e-5, 1e-3, `d${n}`);
        break;
      }
    }
    t.ok(worst <= 1, `all ${m.namedParameters().length} parameter gradients within 5e-5 + 1e-3 rel (worst at ${(100 * worst).toFixed(1)}% of the tolerance)`);
    assertClose(t, src.grad!.toArray(), numericGrad64(loss, sv), 5e-5, 1e-3, 'dsrc');
    assertClose(t, tgt.grad!.toArray(), numericGrad64(loss, tv), 5e-5, 1e-3, 'dtgt');
    m.dispose();
  });
}

t.test("parameter names are torch.nn.Transformer's", async (t) => {
  const m = tiny(false, 1);
  const names = m.namedParameters().map(([n]) => n);
  const mha = (p: string) => ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias'].map((s) => `${p}.${s}`);
  const lin = (p: string) => ['linear1.weight', 'linear1.bias', 'linear2.weight', 'linear2.bias'].map((s) => `${p}.${s}`);
  const norms = (p: string, n: number) => Array.from({ length: n }, (_, i) => [`${p}.norm${i + 1}.weight`, `${p}.norm${i + 1}.bias`]).flat();
  const e = 'encoder.layers.0';
  const d = 'decoder.layers.0';
  t.same(names, [
    ...mha(`${e}.self_attn`), ...lin(e), ...norms(e, 2), 'encoder.norm.weight', 'encoder.norm.bias',
    ...mha(`${d}.self_attn`), ...mha(`${d}.multihead_attn`), ...lin(d), ...norms(d, 3), 'decoder.norm.weight', 'decoder.norm.bias',
  ]);
  t.same(m.stateDict()['encoder.layers.0.self_attn.in_proj_weight'].shape, [3 * E, E], 'in_proj_weight (3E, E)');
  t.same(m.stateDict()['decoder.layers.0.linear1.weight'].shape, [F, E], 'linear1 (F, E)');
  const v = arr(nn.Transformer.generateSquareSubsequentMask(3));
  t.same(v, [0, -Infinity, -Infinity, 0, 0, -Infinity, 0, 0, 0], 'generateSquareSubsequentMask(3)');
});

t.test('a padded source position changes nothing (whatever it holds, even NaN)', async (t) => {
  for (const normFirst of [false, true]) {
    cg.manualSeed(6);
    const m = tiny(normFirst);
    randomize(m, 500);
    const sv = uniform(B * S * E, 21);
    const tgt = f32(uniform(B * T * E, 22), [B, T, E]);
    const run = (v: Float64Array) => {
      const src = f32(v, [B, S, E]);
      const memory = m.encoder.forward(src, { srcKeyPaddingMask: srcKpm() });
      const out = m.decoder.forward(tgt, memory, { tgtIsCausal: true, memoryKeyPaddingMask: srcKpm() });
      return { memory: memory.toArray(), out: arr(out) };
    };
    const base = run(sv);
    for (const fill of [3, NaN]) {
      const v = Float64Array.from(sv);
      for (let c = 0; c < E; c++) v[(S + 3) * E + c] = fill; // batch 1, position 3 (padding)
      const got = run(v);
      t.same(got.out, base.out, `${normFirst ? 'normFirst' : 'post-norm'}: padded src position set to ${fill}: decoder output bit-identical`);
      const keep = (a: Float32Array | Int32Array) => Array.from(a).filter((_, i) => Math.floor(i / E) !== S + 3);
      t.same(keep(got.memory), keep(base.memory), '  and the encoder output at every other position');
    }
  }
});

t.test('a causal decoder never looks ahead: perturbing target position j leaves positions < j bit-identical', async (t) => {
  for (const normFirst of [false, true]) {
    cg.manualSeed(7);
    const m = tiny(normFirst);
    randomize(m, 700);
    const src = f32(uniform(B * S * E, 31), [B, S, E]);
    const tv = uniform(B * T * E, 32);
    const run = (v: Float64Array, causal: 'mask' | 'flag') =>
      arr(m.forward(src, f32(v, [B, T, E]), causal === 'mask' ? { tgtMask: nn.Transformer.generateSquareSubsequentMask(T) } : { tgtIsCausal: true }));
    const base = run(tv, 'mask');
    t.same(run(tv, 'flag'), base, `${normFirst ? 'normFirst' : 'post-norm'}: tgtIsCausal = the square subsequent mask`);
    for (let j = 1; j < T; j++) {
      const v = Float64Array.from(tv);
      for (let b = 0; b < B; b++) for (let c = 0; c < E; c++) v[(b * T + j) * E + c] += 1;
      const got = run(v, 'mask');
      const before = (a: number[]) => a.filter((_, i) => Math.floor(i / E) % T < j);
      const at = (a: number[]) => a.filter((_, i) => Math.floor(i / E) % T === j);
      t.same(before(got), before(base), `  position ${j} perturbed: positions < ${j} bit-identical`);
      t.not(at(got).join(), at(base).join(), `  position ${j} itself changes`);
    }
  }
});

t.test('stacks copy the given layer; dropout follows train/eval; function activations', async (t) => {
  cg.manualSeed(8);
  const layer = new nn.TransformerEncoderLayer(E, H, { dimFeedforward: F, dropout: 0.3 });
  const enc = new nn.TransformerEncoder(layer, 3, { norm: new nn.LayerNorm(E) });
  t.equal(enc.layers.length, 3);
  t.equal(enc.layers.at(0), layer, 'layer 0 is the given layer');
  t.same(arr(enc.layers.at(2)!.linear1.weight), arr(layer.linear1.weight), 'the others are copies of it (as torch deepcopy)');
  t.not(enc.layers.at(2)!.linear1.weight, layer.linear1.weight, '  in their own tensors');
  t.same(enc.namedParameters().slice(-2).map(([n]) => n), ['norm.weight', 'norm.bias']);
  const x = f32(uniform(B * S * E, 41), [B, S, E]);
  t.not(arr(enc.forward(x)).join(), arr(enc.forward(x)).join(), 'training with dropout 0.3: two calls differ');
  enc.eval();
  t.same(arr(enc.forward(x)), arr(enc.forward(x)), 'eval: deterministic');
  const relu = new nn.TransformerEncoderLayer(E, H, { dimFeedforward: F, dropout: 0 });
  const fnAct = new nn.TransformerEncoderLayer(E, H, { dimFeedforward: F, dropout: 0, activation: (h) => cg.relu(h) });
  fnAct.loadStateDict(relu.stateDict());
  t.same(arr(fnAct.forward(x)), arr(relu.forward(x)), "activation as a function = 'relu'");
  const gelu = new nn.TransformerEncoderLayer(E, H, { dimFeedforward: F, dropout: 0, activation: 'gelu' });
  gelu.loadStateDict(relu.stateDict());
  t.not(arr(gelu.forward(x)).join(), arr(relu.forward(x)).join(), "activation 'gelu' differs");
  // As torch, 'gelu' is the exact (erf) GELU; 'gelu_tanh' the approximation.
  const erfFn = new nn.TransformerEncoderLayer(E, H, { dimFeedforward: F, dropout: 0, activation: (h) => cg.gelu(h, { approximate: 'none' }) });
  erfFn.loadStateDict(relu.stateDict());
  t.same(arr(gelu.forward(x)), arr(erfFn.forward(x)), "activation 'gelu' = gelu(h, { approximate: 'none' })");
  const tanhForm = new nn.TransformerEncoderLayer(E, H, { dimFeedforward: F, dropout: 0, activation: 'gelu_tanh' });
  const tanhFn = new nn.TransformerEncoderLayer(E, H, { dimFeedforward: F, dropout: 0, activation: (h) => cg.gelu(h) });
  tanhForm.loadStateDict(relu.stateDict());
  tanhFn.loadStateDict(relu.stateDict());
  t.same(arr(tanhForm.forward(x)), arr(tanhFn.forward(x)), "activation 'gelu_tanh' = gelu(h) (tanh approximation)");
  t.not(arr(tanhForm.forward(x)).join(), arr(gelu.forward(x)).join(), "'gelu_tanh' differs from 'gelu'");
  t.match(String(tanhForm), /activation=gelu_tanh/, 'the repr names the activation');
  t.throws(() => new nn.ModuleList([layer]).forward(), new TypeError('nn.ModuleList.forward: a ModuleList has no forward; call its modules'));
});

t.test('Transformer: bad input gets a clear error', async (t) => {
  const m = tiny(false, 1);
  const src = cg.zeros([B, S, E]);
  const tgt = cg.zeros([B, T, E]);
  t.throws(() => new nn.Transformer({ dModel: 10, nhead: 3 }), new RangeError('nn.Transformer: dModel 10 must be divisible by nhead 3'));
  t.throws(() => new nn.TransformerEncoderLayer(12, 5), new RangeError('nn.TransformerEncoderLayer: dModel 12 must be divisible by nhead 5'));
  t.throws(() => new nn.TransformerDecoderLayer(8, 3), new RangeError('nn.TransformerDecoderLayer: dModel 8 must be divisible by nhead 3'));
  t.throws(() => new nn.Transformer({ dModel: 8, nhead: 2, batchFirst: false as never }), new RangeError('nn.Transformer: only batch-first inputs (B, T, dModel) are supported; batchFirst must be true or absent, got boolean false'));
  t.throws(() => new nn.Transformer({ dModel: 8, nhead: 2, numEncoderLayers: -1 }), new RangeError('nn.Transformer: numEncoderLayers must be an integer >= 0, got number -1'));
  t.throws(() => new nn.Transformer({ dModel: 8, nhead: 2, activation: 'swish' as never }), new TypeError("nn.Transformer: activation must be 'relu', 'gelu' (exact), 'gelu_tanh', 'tanh', 'sigmoid' or a function, got the string 'swish'"));
  t.throws(() => new nn.Transformer({ d_model: 8 } as never), /nn\.Transformer: unknown option 'd_model'/);
  t.throws(() => m.forward(src, cg.zeros([3, T, E])), new RangeError('nn.Transformer.forward: src and tgt must have the same batch size, got [2, 5, 8] and [3, 4, 8]'));
  t.throws(() => m.forward(src, cg.zeros([B, T, 6])), new RangeError('nn.Transformer.forward: tgt must have shape (B, T, dModel = 8) (batch first), got [2, 4, 6]'));
  t.throws(() => m.forward(cg.zeros([S, E]), tgt), new RangeError('nn.Transformer.forward: src must have shape (B, T, dModel = 8) (batch first), got [5, 8]'));
  t.throws(() => m.forward(src, tgt, { tgtMask: cg.zeros([T, T + 1]) }), new RangeError('nn.TransformerDecoderLayer.forward: tgtMask must have shape (Tq, Tk) = [4, 4] or (B * numHeads, Tq, Tk) = [4, 4, 4], got [4, 5]'));
  t.throws(() => m.forward(src, tgt, { srcKeyPaddingMask: cg.zeros([B, T], { dtype: 'int32' }) }), new RangeError('nn.TransformerEncoder.forward: srcKeyPaddingMask must have shape (B, Tk) = [2, 5], got [2, 4]'));
  t.throws(() => m.forward(src, tgt, { tgtKeyPaddingMask: cg.zeros([B, S], { dtype: 'int32' }) }), new RangeError('nn.TransformerDecoder.forward: tgtKeyPaddingMask must have shape (B, Tk) = [2, 4], got [2, 5]'));
  t.throws(() => m.forward(src, tgt, { memoryKeyPaddingMask: cg.zeros([1, S], { dtype: 'int32' }) }), new RangeError('nn.TransformerDecoder.forward: memoryKeyPaddingMask must have shape (B, Tk) = [2, 5], got [1, 5]'));
  t.throws(() => m.forward(src, tgt, { memoryMask: cg.zeros([S, T]) }), new RangeError('nn.TransformerDecoderLayer.forward: memoryMask must have shape (Tq, Tk) = [4, 5] or (B * numHeads, Tq, Tk) = [4, 4, 5], got [5, 4]'));
  t.throws(() => m.forward(src, tgt, { srcKeyPaddingMask: 'yes' as never }), new TypeError("nn.TransformerEncoder.forward: srcKeyPaddingMask must be a Tensor (B, Tk) or an array of boolean rows, got the string 'yes'"));
  t.throws(() => m.decoder.forward(tgt, cg.zeros([3, S, E])), new RangeError('nn.TransformerDecoder.forward: tgt and memory must have the same batch size, got [2, 4, 8] and [3, 5, 8]'));
  t.throws(() => m.forward(src, tgt, { tgtIsCausal: 'yes' as never }), new TypeError("nn.TransformerDecoderLayer.forward: tgtIsCausal must be a boolean, got the string 'yes'"));
  t.throws(() => new nn.TransformerEncoder(new nn.LayerNorm(4) as never, 2), new TypeError('nn.TransformerEncoder: encoderLayer must be an nn.TransformerEncoderLayer, got an object (LayerNorm)'));
});
