// models.GPT: logits, loss and every parameter gradient of a tiny GPT-2 against
// a PyTorch float64 reference (test/fixtures/gpt/make_gpt_fixture.py, loaded
// through the HF GPT-2 path); HF state dicts and folders round-tripping bit
// for bit; parameter names; KV-cache generation against full recomputation;
// sampling options; tokenizers; the sequence classifier; clear errors.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';

import * as cg from '../lib/index';
import { copyInto } from '../lib/nn/copy';
import { assertClose, f32, uniform } from './oracle';

const { GPT, CharTokenizer, GPT2Tokenizer, TextStream, GPTForSequenceClassification } = cg.models;
const arr = (x: cg.Tensor) => Array.from(x.toArray());
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-gpt-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
const FIXTURE = path.join(__dirname, 'fixtures', 'gpt', 'gpt-tiny.safetensors');

// Every parameter overwritten with seeded uniforms of the given scale (LayerNorm weights around 1).
function randomize(m: cg.models.GPT, seed: number, scale = 0.3): void {
  m.namedParameters().forEach(([n, p], i) => {
    const u = uniform(p.size, seed + i, -scale, scale);
    const v = /ln_\d\.weight|ln_f\.weight/.test(n) ? u.map((x) => 1 + x) : u;
    cg.tidy(() => copyInto(p, f32(v, [...p.shape])));
  });
}

t.test('forward logits, loss and every parameter gradient match PyTorch (float64) on a tiny GPT-2', async (t) => {
  const { tensors: fx, metadata } = cg.io.readSafetensors(FIXTURE, { device: 'cpu' });
  const c = JSON.parse(metadata.config);
  const m = new GPT({ vocabSize: c.vocabSize, blockSize: c.blockSize, nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd });
  const hf = Object.fromEntries(Object.entries(fx).filter(([k]) => k.startsWith('hf.')).map(([k, v]) => [k.slice(3), v]));
  m.loadStateDict(hf, { format: 'hf-gpt2' });
  const { logits, loss } = m.forward(fx.idx, fx.targets);
  t.same(logits.shape, [c.B, c.T, c.vocabSize]);
  assertClose(t, logits.toArray(), fx.logits.toArray(), 1e-5, 1e-4, 'logits');
  assertClose(t, [loss!.item()], fx.loss.toArray(), 1e-6, 1e-5, 'loss');
  loss!.backward();
  const names = m.namedParameters().map(([n]) => n);
  t.same(names.sort(), Object.keys(fx).filter((k) => k.startsWith('grad.')).map((k) => k.slice(5)).sort(), 'one gradient per parameter (wte shared by the LM head)');
  for (const [n, p] of m.namedParameters()) assertClose(t, p.grad!.toArray(), fx[`grad.${n}`].toArray(), 2e-6, 2e-4, `d loss / d ${n}`);
  t.equal(m.forward(fx.idx).loss, null, 'no targets: no loss');
  m.dispose();
  Object.values(fx).forEach((x) => x.dispose());
});

t.test('GPT-2 parameter names, shapes, initialisation and bias: false', async (t) => {
  cg.manualSeed(0);
  const m = new GPT({ vocabSize: 11, blockSize: 9, nLayer: 2, nHead: 2, nEmbd: 8 });
  const shapes = Object.fromEntries(m.namedParameters().map(([n, p]) => [n, p.shape.join('x')]));
  t.same(Object.keys(shapes).slice(0, 14), [
    'transformer.wte.weight', 'transformer.wpe.weight',
    'transformer.h.0.ln_1.weight', 'transformer.h.0.ln_1.bias', 'transformer.h.0.attn.c_attn.weight', 'transformer.h.0.attn.c_attn.bias',
    'transformer.h.0.attn.c_proj.weight', 'transformer.h.0.attn.c_proj.bias', 'transformer.h.0.ln_2.weight', 'transformer.h.0.ln_2.bias',
    'transformer.h.0.mlp.c_fc.weight', 'transformer.h.0.mlp.c_fc.bias', 'transformer.h.0.mlp.c_proj.weight', 'transformer.h.0.mlp.c_proj.bias',
  ]);
  t.equal(Object.keys(shapes).at(-1), 'transformer.ln_f.bias');
  t.same([shapes['transformer.h.1.attn.c_attn.weight'], shapes['transformer.h.1.mlp.c_proj.weight'], shapes['transformer.wpe.weight']], ['24x8', '8x32', '9x8']);
  t.equal(m.lmHead, m.stateDict()['transformer.wte.weight'], 'the LM head is the token embedding');
  const std = (x: cg.Tensor) => Math.sqrt(arr(x).reduce((s, v) => s + v * v, 0) / x.size);
  const big = new GPT({ vocabSize: 300, blockSize: 64, nLayer: 8, nHead: 4, nEmbd: 64 });
  const sd = big.stateDict();
  t.ok(Math.abs(std(sd['transformer.h.0.mlp.c_fc.weight']) - 0.02) < 0.002, 'weights N(0, 0.02)');
  t.ok(Math.abs(std(sd['transformer.h.3.attn.c_proj.weight']) - 0.02 / 4) < 0.0005, 'residual projections N(0, 0.02 / sqrt(2 nLayer))');
  t.ok(arr(sd['transformer.h.0.attn.c_attn.bias']).every((v) => v === 0) && arr(sd['transformer.ln_f.weight']).every((v) => v === 1), 'zero biases, unit LayerNorm');
  const nb = new GPT({ vocabSize: 11, blockSize: 9, nLayer: 1, nHead: 2, nEmbd: 8, bias: false });
  t.notOk(nb.namedParameters().some(([n]) => n.endsWith('.bias')), 'bias: false drops every bias');
  t.match(String(m), /^GPT\(vocabSize=11, blockSize=9, nLayer=2, nHead=2, nEmbd=8, dropout=0, bias=true\n {2}\(transformer\): Transformer\(/);
  [m, big, nb].forEach((x) => x.dispose());
});

t.test('HF GPT-2 state dicts and folders round-trip bit for bit', async (t) => {
  const { tensors: fx } = cg.io.readSafetensors(FIXTURE, { device: 'cpu' });
  const hf = Object.fromEntries(Object.entries(fx).filter(([k]) => k.startsWith('hf.')).map(([k, v]) => [k.slice(3), v]));
  const file = path.join(tmp, 'gpt2-like.safetensors');
  cg.io.saveSafetensors(file, hf);
  const m = GPT.fromPretrained(file, { nHead: 2 });
  t.same([m.config.vocabSize, m.config.blockSize, m.config.nLayer, m.config.nEmbd], [13, 8, 2, 8], 'config inferred from the shapes');
  t.equal(m.tokenizer, null, 'no tokenizer known for a 13-token vocabulary');
  const out = m.stateDict({ format: 'hf-gpt2' });
  const kept = Object.keys(hf).filter((k) => !k.endsWith('.attn.bias') && k !== 'lm_head.weight');
  t.same(Object.keys(out).sort(), kept.sort(), 'HF names (mask buffers and the tied lm_head dropped)');
  for (const k of kept) t.ok(Buffer.from(out[k].toArray().buffer).equals(Buffer.from(hf[k].toArray().buffer)) && out[k].shape.join() === hf[k].shape.join(), `${k} bit-exact`);
  Object.values(out).forEach((x) => x.dispose());
  // Unprefixed names (as the GPT-2 files on the hub) load the same.
  const bare = Object.fromEntries(Object.entries(hf).map(([k, v]) => [k.replace(/^transformer\./, ''), v]));
  const m2 = new GPT(m.config);
  m2.loadStateDict(bare, { format: 'hf-gpt2' });
  t.same(m2.namedParameters().map(([, p]) => arr(p)), m.namedParameters().map(([, p]) => arr(p)), 'names without transformer. load the same');
  // A folder: config.json (HF keys + tokenizer) and model.safetensors.
  const dir = path.join(tmp, 'folder');
  m.savePretrained(dir, new CharTokenizer('abcdefghijklm'));
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  t.match(cfg, { model_type: 'gpt2', vocab_size: 13, n_positions: 8, n_layer: 2, n_head: 2, n_embd: 8, activation_function: 'gelu_new', cudagrad: { tokenizer: { type: 'char', chars: 'abcdefghijklm' } } });
  const back = cg.io.loadSafetensors(path.join(dir, 'model.safetensors'));
  for (const k of kept) t.ok(Buffer.from(back[k].toArray().buffer).equals(Buffer.from(hf[k].toArray().buffer)), `folder ${k} bit-exact`);
  const m3 = GPT.fromPretrained(dir);
  t.equal(m3.tokenizer!.decode([0, 12]), 'am', 'tokenizer restored from config.json');
  t.same(arr(m3.forward(fx.idx).logits), arr(m.forward(fx.idx).logits), 'same logits after the round trip');
  // A cudagrad-format dict with nanoGPT's tied lm_head.weight key loads too.
  const native = { ...m.stateDict(), 'lm_head.weight': m.lmHead };
  m2.loadStateDict(native);
  t.throws(() => m2.loadStateDict({ ...hf, 'lm_head.weight': hf['transformer.h.0.ln_1.weight'] }, { format: 'hf-gpt2' }), /lm_head\.weight differs from wte\.weight/);
  t.throws(() => m2.stateDict({ format: 'onnx' as 'hf-gpt2' }), /format must be 'cudagrad' or 'hf-gpt2'/);
  [m, m2, m3].forEach((x) => x.dispose());
  Object.values(back).forEach((x) => x.dispose());
  Object.values(fx).forEach((x) => x.dispose());
});

t.test("loading the model's own state dict (views of its parameters) leaves it unchanged, in both formats", async (t) => {
  cg.manualSeed(3);
  const m = new GPT({ vocabSize: 11, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 });
  const before = m.parameters().map((p) => p.toArray());
  m.loadStateDict(m.stateDict());
  m.loadStateDict(m.stateDict({ format: 'hf-gpt2' }), { format: 'hf-gpt2' });
  t.same(m.parameters().map((p) => p.toArray()), before, 'bit for bit');
});

t.test('KV-cache generation equals full recomputation token for token (past blockSize too)', async (t) => {
  cg.manualSeed(3);
  const m = new GPT({ vocabSize: 23, blockSize: 12, nLayer: 2, nHead: 2, nEmbd: 16 });
  randomize(m, 100, 0.5);
  const before = cg.memory().numTensors;
  for (const opts of [{ temperature: 0 }, { temperature: 1, seed: 5 }, { temperature: 0.7, topK: 5, seed: 9 }, { temperature: 1.3, topP: 0.8, seed: 2 }]) {
    const la: Float32Array[] = [];
    const lb: Float32Array[] = [];
    const a = m.generate([1, 2, 3], { maxNewTokens: 40, ...opts, onLogits: (l) => la.push(l) });
    const b = m.generate([1, 2, 3], { maxNewTokens: 40, ...opts, kvCache: false, onLogits: (l) => lb.push(l) });
    t.same(a, b, `same 40 tokens with ${JSON.stringify(opts)} (blockSize 12)`);
    assertClose(t, la.flatMap((l) => Array.from(l)), lb.flatMap((l) => Array.from(l)), 1e-5, 1e-4, 'logits of every step');
    t.ok(new Set(a).size >= (opts.temperature ? 4 : 2), `varied tokens: ${a.join(' ')}`);
  }
  t.equal(cg.memory().numTensors, before, 'no tensors left behind (caches freed)');
  const g1 = m.generate([4], { maxNewTokens: 20, temperature: 0 });
  t.same(m.generate([4], { maxNewTokens: 20, temperature: 0 }), g1, 'greedy is deterministic');
  const s1 = m.generate([4], { maxNewTokens: 20, seed: 7 });
  t.same(m.generate([4], { maxNewTokens: 20, seed: 7 }), s1, 'a seed repeats a sample');
  t.notSame(m.generate([4], { maxNewTokens: 20, seed: 8 }), s1, 'another seed, another sample');
  // The first step of the cached path sees exactly the model's last-position logits.
  const l0: Float32Array[] = [];
  const prompt = [5, 6, 7, 8, 9];
  m.generate(prompt, { maxNewTokens: 1, temperature: 0, onLogits: (l) => l0.push(l) });
  const full = m.forward(cg.tensor(Int32Array.from(prompt), { shape: [1, 5] })).logits.toArray().slice(4 * 23);
  assertClose(t, l0[0], full, 1e-5, 1e-4, 'first step = forward logits of the last position');
  // Top-k 1 is greedy; stopToken ends early.
  t.same(m.generate([4], { maxNewTokens: 20, topK: 1, seed: 3 }), g1, 'topK 1 = greedy');
  const stop = g1[5];
  t.same(m.generate([4], { maxNewTokens: 20, temperature: 0, stopToken: stop }), g1.slice(0, g1.indexOf(stop) + 1), 'stopToken');
  t.throws(() => m.generate([23], {}), /prompt\[0\] = number 23 is not a token id in \[0, 23\)/);
  t.throws(() => m.generate([], {}), /prompt must be a non-empty array/);
  t.throws(() => m.generate([1], { topP: 0 }), /topP must be in \(0, 1\]/);
  t.throws(() => m.generate([1], { temperature: -1 }), /temperature must be a number >= 0/);
  m.dispose();
});

t.test('bad input gets clear errors', async (t) => {
  const m = new GPT({ vocabSize: 10, blockSize: 6, nLayer: 1, nHead: 2, nEmbd: 8 });
  const ids = (v: number[], shape = [1, v.length]) => cg.tensor(Int32Array.from(v), { shape });
  t.throws(() => m.forward(ids([1, 2, 10])), /models\.GPT\.forward: token ids must lie in \[0, 10\) \(vocabSize\): .*10/);
  t.throws(() => m.forward(ids([1, -1])), /token ids must lie in \[0, 10\)/);
  t.throws(() => m.forward(ids([1, 2, 3, 4, 5, 6, 7])), { message: 'models.GPT.forward: sequence of length 7 is longer than blockSize 6' });
  t.throws(() => m.forward(f32([1, 2], [1, 2])), /idx must be an int32 Tensor of shape \(B, T\), got shape \[1, 2\], float32/);
  t.throws(() => m.forward(ids([1, 2, 3], [3])), /idx must be an int32 Tensor of shape \(B, T\)/);
  t.throws(() => m.forward(ids([1, 2]), ids([1, 2, 3])), /targets must be an int32 Tensor of idx's shape \[1, 2\]/);
  const other = new GPT({ vocabSize: 10, blockSize: 6, nLayer: 1, nHead: 2, nEmbd: 16 });
  t.throws(() => m.loadStateDict(other.stateDict()), /'transformer\.wte\.weight' has shape \[10, 16\] but this model's is \[10, 8\]: the state dict is for another configuration \(the dict is for vocabSize=10, blockSize=6, nLayer=1, nEmbd=16\)/);
  const deeper = new GPT({ vocabSize: 10, blockSize: 6, nLayer: 2, nHead: 2, nEmbd: 8 });
  t.throws(() => m.loadStateDict(deeper.stateDict()), /unexpected keys: transformer\.h\.1\./);
  t.throws(() => new GPT({ vocabSize: 10, blockSize: 6, nLayer: 1, nHead: 3, nEmbd: 8 }), { message: 'models.GPT: nEmbd (8) must be divisible by nHead (3)' });
  t.throws(() => new GPT({ vocabSize: 0, blockSize: 6, nLayer: 1, nHead: 1, nEmbd: 8 }), /vocabSize must be an integer >= 1, got number 0/);
  t.throws(() => new GPT({ vocabSize: 5, blockSize: 6, nLayer: 1, nHead: 1, nEmbd: 8, dropout: 1 }), /dropout must be a number in \[0, 1\)/);
  t.throws(() => new GPT({ vocabSize: 5, blockSize: 6, nLayer: 1, nHead: 1, nEmbd: 8, heads: 2 } as never), /unknown option 'heads'/);
  t.throws(() => GPT.fromPretrained(path.join(tmp, 'nope')), /does not exist/);
  [m, other, deeper].forEach((x) => x.dispose());
});

t.test('tokenizers: characters, GPT-2 BPE (js-tiktoken, offline), streaming decode', async (t) => {
  const c = CharTokenizer.fromText('hello world\n');
  t.equal(c.toJSON().type, 'char');
  t.same(c.chars, ['\n', ' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w'], 'sorted distinct characters');
  t.equal(c.decode(c.encode('hello\nworld')), 'hello\nworld');
  t.throws(() => c.encode('hex'), { message: 'models.CharTokenizer.encode: character "x" (U+0078) at position 2 is not in the tokenizer\'s 9-character vocabulary' });
  t.throws(() => c.decode([9]), /token id number 9 is out of range \[0, 9\)/);
  t.throws(() => new CharTokenizer('aba'), /character "a" appears twice/);
  const g = new GPT2Tokenizer();
  t.same(g.encode('Hello world'), [15496, 995], "GPT-2's ids");
  t.same(g.encode('<|endoftext|>'), [50256]);
  const text = 'ROMEO: But, soft! what light through yonder window breaks? é中';
  t.equal(g.decode(g.encode(text)), text, 'BPE round trip (multi-byte characters too)');
  const s = new TextStream(g);
  const pieces = g.encode('中文').map((id) => s.push(id));
  t.equal(pieces.join('') + s.flush(), '中文', 'streamed pieces never split a character');
  t.notOk(pieces.some((p) => p.includes('\uFFFD')), 'no replacement characters while streaming');
});

t.test('GPTForSequenceClassification: the last non-padding token, padding-invariant, trainable', async (t) => {
  cg.manualSeed(1);
  const gpt = new GPT({ vocabSize: 12, blockSize: 10, nLayer: 1, nHead: 2, nEmbd: 8 });
  randomize(gpt, 40);
  const clf = new GPTForSequenceClassification(gpt, { numLabels: 3, padTokenId: 0 });
  t.same(clf.namedParameters().map(([n]) => n).filter((n) => !n.startsWith('transformer.')), ['score.weight']);
  t.equal(clf.stateDict()['transformer.wte.weight'], gpt.lmHead, 'shares the GPT parameters');
  const idx = cg.tensor(Int32Array.from([3, 4, 5, 0, 0, 0, 6, 7, 8, 9, 10, 11]), { shape: [2, 6] });
  const { logits } = clf.forward(idx);
  const h = gpt.hidden(idx).toArray();
  const w = clf.score.toArray();
  const want = [2, 5].flatMap((last, b) => [0, 1, 2].map((l) => Array.from({ length: 8 }, (_, k) => h[(b * 6 + last) * 8 + k] * w[l * 8 + k]).reduce((x, y) => x + y)));
  assertClose(t, logits.toArray(), want, 1e-5, 1e-4, 'logits = score(h[last non-pad])');
  const short = clf.forward(cg.tensor(Int32Array.from([3, 4, 5]), { shape: [1, 3] })).logits;
  assertClose(t, short.toArray(), logits.toArray().slice(0, 3), 1e-5, 1e-4, 'right padding does not change a row');
  const byLen = clf.forward(idx, { lengths: [3, 6] }).logits;
  t.same(arr(byLen), arr(logits), 'lengths option = padTokenId');
  const labels = cg.tensor(Int32Array.from([2, 1]));
  const opt = new cg.optim.AdamW(clf.parameters(), { lr: 0.01 });
  const losses = Array.from({ length: 15 }, () =>
    cg.tidy(() => {
      const l = clf.forward(idx, { labels }).loss!;
      l.backward();
      opt.step();
      opt.zeroGrad();
      return l.item();
    }),
  );
  t.ok(losses[14] < losses[0] * 0.5, `loss falls: ${losses[0].toFixed(3)} -> ${losses[14].toFixed(3)}`);
  t.throws(() => clf.forward(idx, { lengths: [3, 7] }), /lengths\[1\] = number 7 is not in \[1, 6\]/);
  t.throws(() => clf.forward(idx, { labels: cg.tensor(Int32Array.from([1])) }), /labels must be an int32 Tensor of shape \[2\]/);
  opt.dispose();
  clf.dispose();
});
