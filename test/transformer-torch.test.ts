// PyTorch compatibility: test/fixtures/torch-transformer.safetensors holds a
// tiny torch.nn.Transformer's weights under torch's names (made by
// test/fixtures/make_torch_transformer.py, torch 1.13 CPU: post-norm and
// norm_first variants with relu, and a post-norm one with activation='gelu',
// torch's exact erf GELU), inputs, masks, and torch's float64 outputs and
// gradients. Loaded with loadStateDict (strict: the names and layouts match
// exactly), nn.Transformer gives the same outputs (causal + key padding, no
// mask, a general float tgt_mask) and the same gradients.
// Tolerances: outputs 1e-5 + 1e-4 rel, gradients 2e-5 + 1e-3 rel (float32 vs
// torch's float64; observed max differences ~1e-6).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';

import * as cg from '../lib/index';
import { assertClose } from './oracle';

const FIXTURE = path.join(__dirname, 'fixtures', 'torch-transformer.safetensors');
const nn = cg.nn;

t.test('torch.nn.Transformer weights load and give torch’s outputs and gradients', async (t) => {
  const all = cg.io.loadSafetensors(FIXTURE);
  const variants = { post: 'post-norm (norm_first=False)', pre: 'norm_first=True', gelu: "activation 'gelu' (exact, as torch), post-norm" };
  for (const [v, title] of Object.entries(variants)) {
    await t.test(title, async (t) => {
      const get = (k: string) => {
        const x = all[`${v}.${k}`];
        if (!x) throw new Error(`fixture has no ${v}.${k}`);
        return x;
      };
      const sd: Record<string, cg.Tensor> = {};
      const prefix = `${v}.param.`;
      for (const [k, x] of Object.entries(all)) if (k.startsWith(prefix)) sd[k.slice(prefix.length)] = x;
      const [B, S, E] = get('src').shape;
      const T = get('tgt').shape[1];
      const activation = v === 'gelu' ? 'gelu' : 'relu';
      const m = new nn.Transformer({ dModel: E, nhead: 2, numEncoderLayers: 2, numDecoderLayers: 2, dimFeedforward: 16, dropout: 0.1, normFirst: v === 'pre', activation });
      t.same(m.namedParameters().map(([n]) => n), Object.keys(sd), "the same parameter names in torch's order");
      const r = m.loadStateDict(sd); // strict
      t.same(r, { missingKeys: [], unexpectedKeys: [] }, 'strict load');
      m.eval();
      const src = get('src');
      const tgt = get('tgt');
      src.requiresGrad = true;
      tgt.requiresGrad = true;
      const out = m.forward(src, tgt, {
        tgtMask: nn.Transformer.generateSquareSubsequentMask(T),
        srcKeyPaddingMask: get('src_kpm'),
        tgtKeyPaddingMask: get('tgt_kpm'),
        memoryKeyPaddingMask: get('src_kpm'),
      });
      t.same(out.shape, [B, T, E]);
      assertClose(t, out.toArray(), get('out').toArray(), 1e-5, 1e-4, 'output: causal tgt_mask, src/tgt/memory key padding');
      out.mul(get('w')).sum().backward();
      assertClose(t, src.grad!.toArray(), get('grad.src').toArray(), 2e-5, 1e-3, 'd src');
      assertClose(t, tgt.grad!.toArray(), get('grad.tgt').toArray(), 2e-5, 1e-3, 'd tgt');
      for (const [n, p] of m.namedParameters()) assertClose(t, p.grad!.toArray(), get(`grad.param.${n}`).toArray(), 2e-5, 1e-3, `d ${n}`);
      cg.noGrad(() => {
        assertClose(t, m.forward(src, tgt).toArray(), get('out_nomask').toArray(), 1e-5, 1e-4, 'output without masks');
        assertClose(t, m.forward(src, tgt, { tgtMask: get('float_mask') }).toArray(), get('out_float').toArray(), 1e-5, 1e-4, 'output with a general float tgt_mask (unfused path)');
      });
      if (v === 'gelu') {
        // The fixture tells the two GELUs apart: the tanh approximation misses torch's output by far more than the tolerance.
        const approx = new nn.Transformer({ dModel: E, nhead: 2, numEncoderLayers: 2, numDecoderLayers: 2, dimFeedforward: 16, activation: 'gelu_tanh' });
        approx.loadStateDict(sd);
        approx.eval();
        const got = cg.noGrad(() => approx.forward(src, tgt).toArray());
        const want = get('out_nomask').toArray();
        const worst = Math.max(...Array.from(want, (w, i) => Math.abs(got[i] - w) / (1e-5 + 1e-4 * Math.abs(w))));
        t.ok(worst > 3, `activation 'gelu_tanh' differs from torch's exact gelu (max error ${worst.toFixed(1)}x the tolerance)`);
        approx.dispose();
      }
      m.dispose();
    });
  }
});

t.test('a state dict round-trips through safetensors under torch’s names', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-torch-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  cg.manualSeed(3);
  const a = new nn.Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16 });
  const file = path.join(dir, 'model.safetensors');
  cg.io.saveSafetensors(file, a.stateDict());
  const b = new nn.Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16 });
  b.loadStateDict(cg.io.loadSafetensors(file));
  for (const [n, p] of a.namedParameters()) t.same(Array.from(b.stateDict()[n].toArray()), Array.from(p.toArray()), n);
  const bad = { ...cg.io.loadSafetensors(file) };
  delete bad['decoder.norm.bias'];
  t.throws(() => b.loadStateDict(bad), new RangeError('Transformer.loadStateDict: state dict does not match the module (missing keys: decoder.norm.bias)'));
});
