// models.Seq2Seq and `cudagrad train seq2seq`: cached decoding equals full
// recomputation (decoder steps one and several positions at a time vs the
// whole prefix; greedy with and without the cache), beam search with enough
// beams finds the best sequence of an exhaustive search (scored by full
// recomputation), padId masks, save/load, the synthetic tasks and their
// held-out split, a short training run lowers the loss, the CLI, bad input.
// Tolerance of cached vs recomputed decoder outputs: 1e-5 + 1e-4 rel (the
// same float32 math in different GEMM shapes; observed ~1e-7).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';

import * as cg from '../lib/index';
import { parseTrainSeq2seqArgs, trainSeq2seq, TRAIN_SEQ2SEQ_DEFAULTS } from '../lib/train-seq2seq';
import { assertClose } from './oracle';
import { root } from './helpers';

const { Seq2Seq } = cg.models;
const D = cg.data;
const ids = (rows: number[][]) => cg.tensor(Int32Array.from(rows.flat()), { shape: [rows.length, rows[0].length] });

function small(opts: Partial<cg.models.Seq2SeqOptions> = {}): cg.models.Seq2Seq {
  return new Seq2Seq({ srcVocabSize: 14, tgtVocabSize: 14, dModel: 16, nhead: 2, numEncoderLayers: 2, numDecoderLayers: 2, dimFeedforward: 24, dropout: 0.1, padId: 0, maxLen: 16, ...opts });
}

t.test('cached decoding equals full recomputation', async (t) => {
  for (const [name, opts] of [['post-norm, sinusoidal', {}], ['normFirst, learned positions', { normFirst: true, positional: 'learned' as const }]] as const) {
    cg.manualSeed(11);
    const m = small(opts).eval();
    const src = ids([[4, 5, 6, 7, 8], [9, 3, 10, 0, 0]]); // batch 1 padded
    const tgt = ids([[1, 5, 7, 3, 12, 6], [1, 8, 8, 4, 2, 0]]);
    const dec = m.transformer.decoder;
    cg.noGrad(() => {
      const mask = m.paddingMask('test', 'src', src, null);
      const memory = m.transformer.encoder.forward(m.embed(src, 'src'), { srcKeyPaddingMask: mask });
      const full = dec.forward(m.embed(tgt, 'tgt'), memory, { memoryKeyPaddingMask: mask, tgtIsCausal: true }).toArray();
      const cache = dec.createCache(memory, { memoryKeyPaddingMask: mask });
      const rows: number[][] = [[], []];
      // Positions 0, then 1-2 together, then 3, 4, 5 one at a time.
      for (const [a, b] of [[0, 1], [1, 3], [3, 4], [4, 5], [5, 6]]) {
        const h = dec.step(m.embed(tgt.slice(1, a, b), 'tgt', a), cache).toArray();
        for (let r = 0; r < 2; r++) rows[r].push(...h.slice(r * (b - a) * 16, (r + 1) * (b - a) * 16));
      }
      t.equal(cache.length, 6, `${name}: cache length`);
      t.same(cache.layers[0].k!.shape, [2, 2, 6, 8], '  self-attention keys cached (B, H, t, D)');
      assertClose(t, rows.flat(), full, 1e-5, 1e-4, `${name}: decoder steps (1, 2, 1, 1, 1 positions) = forward on the whole prefix`);
      cache.dispose();
    });
    const o = { bosId: 1, eosId: 2, maxNewTokens: 8 };
    t.same(m.greedy(src, o), m.greedy(src, { ...o, useCache: false }), `${name}: greedy with the cache = greedy recomputing every prefix`);
    t.equal(m.training, false, '  mode restored');
    m.train();
    const g = m.greedy(src, o);
    t.equal(m.transformer.encoder.layers.at(0)!.training, true, '  decoding runs in eval mode and restores training mode');
    t.same(g, m.eval().greedy(src, o), '  (so dropout does not touch decoding)');
    m.dispose();
  }
});

t.test('beam search with enough beams = exhaustive search scored by full recomputation', async (t) => {
  cg.manualSeed(12);
  const EOS_BOOST = 1.5; // outcomes then differ by source and by lengthPenalty
  const V = 5; // pad 0, bos 1, eos 2, tokens 3, 4
  const m = new Seq2Seq({ srcVocabSize: 6, tgtVocabSize: V, dModel: 16, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16, dropout: 0, padId: 0, maxLen: 8 });
  // Sharpen the output so that sequences' scores differ clearly; make the end token competitive.
  const eosBias = cg.tensor([0, 0, EOS_BOOST, 0, 0]);
  cg.noGrad(() => m.generator.loadStateDict({ weight: m.generator.weight.mul(4), bias: m.generator.bias!.mul(4).add(eosBias) }));
  const src = ids([[3, 4, 5, 3], [5, 5, 0, 0], [4, 0, 0, 0], [5, 3, 3, 4]]);
  const maxNew = 3;
  for (const alpha of [0, 1]) {
    const beam = m.beamSearch(src, { bosId: 1, eosId: 2, maxNewTokens: maxNew, beamSize: 32, lengthPenalty: alpha });
    const want = [0, 1, 2, 3].map((b) => {
      const logp = (prefix: number[]) =>
        cg.noGrad(() => {
          // Generated padding tokens are not masked while decoding: nor here.
          const logits = m.eval().forward(src.slice(0, b, b + 1), ids([[1, ...prefix]]), { tgtKeyPaddingMask: [Array(prefix.length + 1).fill(false)] });
          return Array.from(cg.logSoftmax(logits, -1).slice(1, prefix.length, prefix.length + 1).toArray());
        });
      let best = { score: -Infinity, tokens: [] as number[] };
      const walk = (prefix: number[], sum: number) => {
        const lp = logp(prefix);
        for (let v = 0; v < V; v++) {
          const s = sum + lp[v];
          const len = prefix.length + 1;
          if (v === 2 || len === maxNew) {
            const tokens = v === 2 ? prefix : [...prefix, v];
            const score = s / len ** alpha;
            if (score > best.score) best = { score, tokens };
          } else walk([...prefix, v], s);
        }
      };
      walk([], 0);
      return best.tokens;
    });
    t.same(beam, want, `lengthPenalty ${alpha}: ${JSON.stringify(beam)}`);
  }
  const few = m.beamSearch(src, { bosId: 1, eosId: 2, maxNewTokens: 5, beamSize: 2 });
  t.equal(few.length, 4, 'beamSize 2 returns one sequence per source');
  m.dispose();
});

t.test('padId masks, explicit masks, save/load, forward shapes and gradients', async (t) => {
  cg.manualSeed(13);
  const m = small({ dropout: 0 });
  const src = ids([[4, 5, 6, 0], [7, 8, 0, 0]]);
  const tgt = ids([[1, 4, 5], [1, 6, 0]]);
  const a = m.forward(src, tgt);
  t.same(a.shape, [2, 3, 14]);
  const flags = (x: cg.Tensor) => cg.tensor(Int32Array.from(x.toArray(), (v) => (v === 0 ? 1 : 0)), { shape: [...x.shape] });
  const b = m.forward(src, tgt, { srcKeyPaddingMask: flags(src), tgtKeyPaddingMask: flags(tgt) });
  t.same(Array.from(b.toArray()), Array.from(a.toArray()), 'padId = explicit int32 key-padding masks');
  const noPad = small({ dropout: 0, padId: null });
  noPad.loadStateDict(m.stateDict());
  t.not(Array.from(noPad.forward(src, tgt).toArray()).join(), Array.from(a.toArray()).join(), 'without padId the padding is attended to');
  cg.crossEntropy(a.reshape(-1, 14), tgt.reshape(-1), { ignoreIndex: 0 }).backward();
  t.ok(m.parameters().every((p) => p.grad !== null), 'every parameter gets a gradient');
  const learned = small({ positional: 'learned' });
  t.same(learned.namedParameters().map(([n]) => n).slice(0, 3), ['src_embed.weight', 'tgt_embed.weight', 'pos_embed.weight']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-s2s-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  m.save(path.join(dir, 'm.safetensors'), { note: 'x' });
  const back = Seq2Seq.load(path.join(dir, 'm.safetensors'));
  t.same(Array.from(back.forward(src, tgt).toArray()), Array.from(a.toArray()), 'Seq2Seq.load(save()) gives the same logits');
  t.equal(back.padId, 0);
});

t.test('no tensor outlives a training step, greedy or beam search; dispose() frees the model', async (t) => {
  const before = cg.memory().numTensors;
  cg.manualSeed(14);
  const m = small();
  const opt = new cg.optim.Adam(m.parameters());
  const src = ids([[4, 5, 6, 0], [7, 8, 0, 0]]);
  const tgt = ids([[1, 4, 5], [1, 6, 0]]);
  const kpm = ids([[0, 0, 0, 1], [0, 0, 1, 1]]);
  const steps: [string, () => unknown][] = [
    ['training step (int32 mask)', () => {
      cg.tidy(() => cg.crossEntropy(m.forward(src, tgt, { srcKeyPaddingMask: kpm }).reshape(-1, 14), tgt.reshape(-1), { ignoreIndex: 0 }).backward());
      opt.step();
      opt.zeroGrad();
    }],
    ['greedy', () => m.greedy(src, { bosId: 1, eosId: 2, maxNewTokens: 5 })],
    ['greedy without the cache', () => m.greedy(src, { bosId: 1, eosId: 2, maxNewTokens: 5, useCache: false })],
    ['beam search', () => m.beamSearch(src, { bosId: 1, eosId: 2, maxNewTokens: 5, beamSize: 3, srcKeyPaddingMask: kpm })],
  ];
  for (const [name, f] of steps) {
    f();
    const n = cg.memory().numTensors;
    f();
    f();
    t.equal(cg.memory().numTensors, n, `${name}: no tensor left behind`);
  }
  opt.dispose();
  m.dispose();
  [src, tgt, kpm].forEach((x) => x.dispose());
  t.ok(cg.memory().numTensors <= before + 1, `after dispose: ${cg.memory().numTensors - before} new tensor(s) left (at most 1: the shared 0/-Infinity mask table)`);
});

t.test('synthetic tasks: correct targets, disjoint held-out split, batches', async (t) => {
  const rnd = D.mulberry32(1);
  for (const task of D.TASKS) {
    const ex = D.makeExamples({ task }, 50, rnd, false);
    t.ok(ex.every((e) => !D.isHeldOut(e.src)), `${task}: training examples are never held out`);
    t.ok(D.makeExamples({ task }, 50, rnd, true).every((e) => D.isHeldOut(e.src)), `${task}: held-out ones always are`);
    const dig = (xs: number[]) => xs.map((v) => v - D.DIGIT0);
    for (const e of ex) {
      if (task === 'reverse') t.same(dig(e.tgt), dig(e.src).reverse());
      else if (task === 'sort') t.same(dig(e.tgt), dig(e.src).sort((x, y) => x - y));
      else {
        const [x, y] = D.detokenize(e.src).split('+').map(Number);
        t.equal(Number(D.detokenize(e.tgt)), x + y);
      }
    }
  }
  const b = D.makeBatch([{ src: [3, 4], tgt: [4, 3] }, { src: [5, 6, 7], tgt: [7] }]);
  t.same([b.src.shape, b.tgtIn.shape, b.tgtOut.shape], [[2, 3], [2, 3], [6]]);
  t.same(Array.from(b.tgtIn.toArray()), [1, 4, 3, 1, 7, 0]);
  t.same(Array.from(b.tgtOut.toArray()), [4, 3, 2, 7, 2, 0]);
});

t.test('training on the synthetic task lowers the loss; the CLI', async (t) => {
  const lines: string[] = [];
  const res = await trainSeq2seq({ ...TRAIN_SEQ2SEQ_DEFAULTS, minLen: 3, maxLen: 6, epochs: 2, steps: 25, batchSize: 32, dModel: 32, warmup: 10, evalSize: 20, verbose: 0 }, (s) => void lines.push(s));
  t.ok(res.loss < res.firstLoss - 0.5, `mean loss of the last epoch ${res.loss.toFixed(3)} < first step's ${res.firstLoss.toFixed(3)} - 0.5`);
  t.equal(res.greedy.total, 20);
  t.match(lines[lines.length - 1], /^held-out exact-sequence accuracy: \d+\.\d\d% \(\d+\/20\) greedy; loss \d\.\d{4} after 50 steps/);
  t.same(parseTrainSeq2seqArgs(['--task', 'add', '--digits=3', '--beam', '4', '--norm-first', '--positional', 'learned']), {
    ...TRAIN_SEQ2SEQ_DEFAULTS, task: 'add', digits: 3, beam: 4, normFirst: true, positional: 'learned',
  });
  t.throws(() => parseTrainSeq2seqArgs(['--task', 'copy']), { message: '--task needs one of reverse, sort, add, got copy' });
  t.throws(() => parseTrainSeq2seqArgs(['--d-model', '30', '--heads', '4']), { message: '--d-model 30 must be divisible by --heads 4' });
  t.throws(() => parseTrainSeq2seqArgs(['--min-len', '9', '--max-len', '4']), { message: '--min-len 9 is more than --max-len 4' });
  const cli = path.join(process.env.CUDAGRAD_TEST_PKG || path.join(root, 'dist'), 'cli.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-s2s-cli-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const args = ['train', 'seq2seq', '--task', 'sort', '--max-len', '6', '--epochs', '1', '--steps', '5', '--d-model', '16', '--eval-size', '10', '--beam', '2', '--verbose', '2', '--out', dir];
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  t.equal(r.status, 0, 'a short CLI run', { stderr: r.stderr });
  t.match(r.stdout, /Epoch 1\/1 - 5\/5 - .* - loss: \d\.\d{4} - held_out_exact: \d\.\d{4}/);
  t.match(r.stdout, /held-out exact-sequence accuracy: \d+\.\d\d% \(\d+\/10\) greedy, \d+\.\d\d% \(\d+\/10\) beam 2; loss/);
  t.ok(Seq2Seq.load(path.join(dir, 'seq2seq.safetensors')) instanceof Seq2Seq, 'the saved model loads');
  const bad = spawnSync(process.execPath, [cli, 'train', 'seq2seq', '--beam', '-1'], { encoding: 'utf8' });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /^cudagrad train seq2seq: --beam needs an integer >= 0, got -1/);
});

t.test('Seq2Seq: bad input gets a clear error', async (t) => {
  const m = small();
  const src = ids([[4, 5, 6]]);
  t.throws(() => small({ dModel: 18, nhead: 4 }), new RangeError('nn.Transformer: dModel 18 must be divisible by nhead 4'));
  t.throws(() => new Seq2Seq({ srcVocabSize: 0, tgtVocabSize: 5 }), new RangeError('models.Seq2Seq: srcVocabSize must be an integer >= 1, got number 0'));
  t.throws(() => m.forward(src, ids([[1, 2], [1, 2]])), new RangeError('models.Seq2Seq.forward: src and tgt must have the same batch size, got [1, 3] and [2, 2]'));
  t.throws(() => m.forward(cg.zeros([1, 3]), src), new TypeError('models.Seq2Seq.forward: src must be an int32 Tensor (B, T) of token ids in [0, 14), got shape [1, 3], float32, cpu'));
  t.throws(() => m.forward(src, ids([Array(17).fill(1)])), new RangeError('models.Seq2Seq.forward: tgt has 17 positions (shape [1, 17]) but the model has maxLen 16'));
  t.throws(() => m.forward(src, ids([[1, 2]]), { srcKeyPaddingMask: cg.zeros([1, 2], { dtype: 'int32' }) }), new RangeError('models.Seq2Seq.forward: srcKeyPaddingMask must have shape (B, Tk) = [1, 3], got [1, 2]'));
  t.throws(() => m.greedy(src, { bosId: 1, eosId: 2, maxNewTokens: 16 }), new RangeError('models.Seq2Seq.greedy: maxNewTokens 16 exceeds maxLen - 1 = 15'));
  t.throws(() => m.greedy(src, { eosId: 2 } as never), new TypeError('models.Seq2Seq.greedy: bosId must be an integer >= 0, got undefined'));
  t.throws(() => m.beamSearch(src, { bosId: 1, eosId: 2, beamSize: 0 }), new RangeError('models.Seq2Seq.beamSearch: beamSize must be an integer >= 1, got number 0'));
  t.throws(() => m.transformer.decoder.step(cg.zeros([2, 1, 16]), m.transformer.decoder.createCache(cg.zeros([1, 3, 16]))), new RangeError('nn.TransformerDecoder.step: tgt has batch size 2 (shape [2, 1, 16]) but the cache has 1'));
});
