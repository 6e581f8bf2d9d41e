// `cudagrad train seq2seq`: trains models.Seq2Seq (a small encoder-decoder
// Transformer) on a synthetic task generated on the fly (data/tasks.ts:
// reverse or sort a digit sequence, or add two numbers) with Adam, warmup +
// cosine decay and gradient clipping, shows a progress bar per epoch, and
// reports exact-sequence accuracy (every output token right, end token
// included) on held-out examples, decoded greedily and optionally by beam search.
import * as path from 'node:path';

import * as cg from './index';
import { Progress } from './keras/progress';
import type { ProgressStream } from './keras/progress';
import { EOS, BOS, PAD, TASKS, TASK_VOCAB_SIZE, detokenize, makeBatch, makeExamples, mulberry32 } from './data/tasks';
import type { Example, TaskName, TaskOptions } from './data/tasks';
import { Seq2Seq } from './models/seq2seq';

export const TRAIN_SEQ2SEQ_USAGE = `usage: cudagrad train seq2seq [options]

Trains an encoder-decoder Transformer on a synthetic task generated on the fly
and reports exact-sequence accuracy on held-out examples (1 source in 10, by a
hash of its tokens, is never used for training).

options:
  --task reverse|sort|add   reverse or sort a random digit sequence, or add two numbers (default reverse)
  --min-len N, --max-len N  sequence lengths for reverse and sort (default 5 and 20)
  --digits N                add: operands of 1..N digits (default 5)
  --epochs N                epochs (default 8)
  --steps N                 steps per epoch (default 250)
  --batch-size N            examples per step (default 64)
  --lr X                    peak learning rate: linear warmup, cosine decay to lr/20 (default 0.001)
  --warmup N                warmup steps (default 200)
  --d-model N               model width (default 64)
  --heads N                 attention heads (default 4)
  --layers N                encoder and decoder layers (default 2 each)
  --ff N                    feed-forward width (default 4 * d-model)
  --dropout X               dropout (default 0: the data never repeats)
  --positional sinusoidal|learned   positional encoding (default sinusoidal)
  --norm-first              pre-norm layers (default post-norm)
  --eval-size N             held-out examples for the final accuracy (default 1000)
  --beam K                  also decode the held-out set by beam search with K beams (default 0: greedy only)
  --seed N                  seed of the data, the initialisation and dropout (default 0)
  --device cpu|cuda         device (default: the default device)
  --out DIR                 save the model to DIR/seq2seq.safetensors (cg.models.Seq2Seq.load reads it)
  --verbose 0|1|2           0 quiet, 1 progress bar (default), 2 one line per epoch
  -h, --help                this help`;

export interface TrainSeq2seqArgs {
  task: TaskName;
  minLen: number;
  maxLen: number;
  digits: number;
  epochs: number;
  steps: number;
  batchSize: number;
  lr: number;
  warmup: number;
  dModel: number;
  heads: number;
  layers: number;
  ff: number | null;
  dropout: number;
  positional: 'sinusoidal' | 'learned';
  normFirst: boolean;
  evalSize: number;
  beam: number;
  seed: number;
  device?: cg.Device;
  out?: string;
  verbose: 0 | 1 | 2;
}

export const TRAIN_SEQ2SEQ_DEFAULTS: TrainSeq2seqArgs = {
  task: 'reverse', minLen: 5, maxLen: 20, digits: 5, epochs: 8, steps: 250, batchSize: 64, lr: 0.001, warmup: 200,
  dModel: 64, heads: 4, layers: 2, ff: null, dropout: 0, positional: 'sinusoidal', normFirst: false, evalSize: 1000, beam: 0, seed: 0, verbose: 1,
};

/** Parses the options after `train seq2seq`; throws a message for the user on bad input. */
export function parseTrainSeq2seqArgs(argv: string[]): TrainSeq2seqArgs | 'help' {
  const a: TrainSeq2seqArgs = { ...TRAIN_SEQ2SEQ_DEFAULTS };
  const int = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isSafeInteger(n) || n < min) throw new Error(`${name} needs an integer >= ${min}, got ${v ?? 'nothing'}`);
    return n;
  };
  const real = (name: string, v: string | undefined, ok: (x: number) => boolean, what: string): number => {
    const x = Number(v);
    if (v === undefined || !Number.isFinite(x) || !ok(x)) throw new Error(`${name} needs ${what}, got ${v ?? 'nothing'}`);
    return x;
  };
  const ints: Record<string, [keyof TrainSeq2seqArgs, number]> = {
    '--min-len': ['minLen', 1], '--max-len': ['maxLen', 1], '--digits': ['digits', 1], '--epochs': ['epochs', 1], '--steps': ['steps', 1],
    '--batch-size': ['batchSize', 1], '--warmup': ['warmup', 0], '--d-model': ['dModel', 1], '--heads': ['heads', 1], '--layers': ['layers', 1],
    '--ff': ['ff', 1], '--eval-size': ['evalSize', 1], '--beam': ['beam', 0], '--seed': ['seed', 0],
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined];
    const value = () => inline ?? argv[++i];
    if (flag in ints) {
      const [key, min] = ints[flag];
      (a as unknown as Record<string, number>)[key] = int(flag, value(), min);
      continue;
    }
    switch (flag) {
      case '-h':
      case '--help':
        return 'help';
      case '--task': {
        const v = value();
        if (!TASKS.includes(v as TaskName)) throw new Error(`--task needs one of ${TASKS.join(', ')}, got ${v ?? 'nothing'}`);
        a.task = v as TaskName;
        break;
      }
      case '--lr':
        a.lr = real('--lr', value(), (x) => x > 0, 'a positive number');
        break;
      case '--dropout':
        a.dropout = real('--dropout', value(), (x) => x >= 0 && x < 1, 'a number in [0, 1)');
        break;
      case '--positional': {
        const v = value();
        if (v !== 'sinusoidal' && v !== 'learned') throw new Error(`--positional needs sinusoidal or learned, got ${v ?? 'nothing'}`);
        a.positional = v;
        break;
      }
      case '--norm-first':
        a.normFirst = true;
        break;
      case '--device': {
        const v = value();
        if (v !== 'cpu' && v !== 'cuda' && !/^cuda:\d+$/.test(v ?? '')) throw new Error(`--device needs cpu or cuda, got ${v ?? 'nothing'}`);
        a.device = v as cg.Device;
        break;
      }
      case '--out':
        a.out = value();
        if (!a.out) throw new Error('--out needs a folder');
        break;
      case '--verbose': {
        const v = int('--verbose', value(), 0);
        if (v > 2) throw new Error(`--verbose needs 0, 1 or 2, got ${v}`);
        a.verbose = v as 0 | 1 | 2;
        break;
      }
      default:
        throw new Error(`unknown option '${argv[i]}'`);
    }
  }
  if (a.minLen > a.maxLen) throw new Error(`--min-len ${a.minLen} is more than --max-len ${a.maxLen}`);
  if (a.dModel % a.heads !== 0) throw new Error(`--d-model ${a.dModel} must be divisible by --heads ${a.heads}`);
  return a;
}

export interface Seq2seqAccuracy {
  /** Fraction of examples whose whole output sequence is right. */
  exact: number;
  correct: number;
  total: number;
}

/** Exact-sequence accuracy of greedy (beam 0) or beam-search decoding of `examples`. */
export function exactAccuracy(model: Seq2Seq, examples: readonly Example[], beam = 0, batchSize = 250): Seq2seqAccuracy & { outputs: number[][] } {
  let correct = 0;
  const outputs: number[][] = [];
  for (let i = 0; i < examples.length; i += batchSize) {
    const chunk = examples.slice(i, i + batchSize);
    const maxNewTokens = Math.max(...chunk.map((e) => e.tgt.length)) + 1;
    const src = makeBatch(chunk).src;
    const opts = { bosId: BOS, eosId: EOS, maxNewTokens };
    const got = beam > 0 ? model.beamSearch(src, { ...opts, beamSize: beam }) : model.greedy(src, opts);
    src.dispose();
    got.forEach((g, j) => {
      outputs.push(g);
      const want = chunk[j].tgt;
      if (g.length === want.length && g.every((v, k) => v === want[k])) correct++;
    });
  }
  return { exact: correct / examples.length, correct, total: examples.length, outputs };
}

export interface TrainSeq2seqResult {
  task: TaskName;
  greedy: Seq2seqAccuracy;
  beam: Seq2seqAccuracy | null;
  /** Mean training loss of the last epoch. */
  loss: number;
  /** Loss of the first step (log V at initialisation, about). */
  firstLoss: number;
  steps: number;
  trainSeconds: number;
  evalSeconds: number;
  parameters: number;
}

export async function trainSeq2seq(a: TrainSeq2seqArgs, log: (s: string) => void = console.log, out: ProgressStream = process.stdout): Promise<TrainSeq2seqResult> {
  if (a.device) cg.setDefaultDevice(a.device);
  cg.manualSeed(a.seed);
  const task: TaskOptions = { task: a.task, minLen: a.minLen, maxLen: a.maxLen, digits: a.digits };
  const longest = a.task === 'add' ? 2 * a.digits + 2 : a.maxLen + 1;
  const model = new Seq2Seq({
    srcVocabSize: TASK_VOCAB_SIZE, tgtVocabSize: TASK_VOCAB_SIZE, dModel: a.dModel, nhead: a.heads, numEncoderLayers: a.layers, numDecoderLayers: a.layers,
    dimFeedforward: a.ff ?? 4 * a.dModel, dropout: a.dropout, positional: a.positional, normFirst: a.normFirst, padId: PAD, maxLen: longest + 1,
  });
  const optimizer = new cg.optim.Adam(model.parameters(), { lr: a.lr, globalClipNorm: 1 });
  const totalSteps = a.epochs * a.steps;
  const scheduler = new cg.optim.CosineWithWarmup(optimizer, { warmupSteps: Math.min(a.warmup, totalSteps - 1), totalSteps, minLr: a.lr / 20 });
  const rnd = mulberry32(2 * a.seed + 1);
  const heldOut = makeExamples(task, a.evalSize, mulberry32(2 * a.seed + 2), true);
  const probe = heldOut.slice(0, Math.min(200, heldOut.length));
  if (a.verbose) {
    const what = a.task === 'add' ? `add two numbers of 1-${a.digits} digits` : `${a.task} ${a.minLen}-${a.maxLen} digits`;
    log(`task: ${what}; ${model.numParameters()} parameters (dModel ${a.dModel}, ${a.heads} heads, ${a.layers}+${a.layers} layers); batch ${a.batchSize}, ${a.epochs} x ${a.steps} steps`);
  }
  const progress = new Progress(a.verbose, out);
  const t0 = performance.now();
  let evalMs = 0;
  let firstLoss = NaN;
  let lastLoss = NaN;
  const V = TASK_VOCAB_SIZE;
  for (let epoch = 0; epoch < a.epochs; epoch++) {
    progress.epochBegin(epoch, a.epochs, a.steps);
    let sum = 0;
    for (let s = 0; s < a.steps; s++) {
      const examples = makeExamples(task, a.batchSize, rnd, false);
      const loss = cg.tidy(() => {
        const b = makeBatch(examples);
        const logits = model.forward(b.src, b.tgtIn); // (B, T + 1, V)
        const l = cg.crossEntropy(logits.reshape(-1, V), b.tgtOut, { ignoreIndex: PAD });
        l.backward();
        return l.item();
      });
      optimizer.step();
      optimizer.zeroGrad();
      scheduler.step();
      if (Number.isNaN(firstLoss)) firstLoss = loss;
      sum += loss;
      progress.batchEnd(s + 1, { loss: sum / (s + 1) });
      if (s % 50 === 49) await new Promise((r) => setImmediate(r)); // let a terminal's Ctrl-C and timers through
    }
    lastLoss = sum / a.steps;
    const te = performance.now();
    const acc = exactAccuracy(model, probe).exact;
    evalMs += performance.now() - te;
    progress.epochEnd({ loss: lastLoss, held_out_exact: acc });
  }
  const trainSeconds = (performance.now() - t0 - evalMs) / 1000;
  const t1 = performance.now();
  const greedy = exactAccuracy(model, heldOut);
  const beam = a.beam > 0 ? exactAccuracy(model, heldOut, a.beam) : null;
  const evalSeconds = (performance.now() - t1) / 1000;
  if (a.verbose) {
    for (let i = 0; i < 3 && i < heldOut.length; i++)
      log(`  ${detokenize(heldOut[i].src)} -> ${detokenize(greedy.outputs[i])}${greedy.outputs[i].join() === heldOut[i].tgt.join() ? '' : `  (want ${detokenize(heldOut[i].tgt)})`}`);
  }
  const pct = (r: Seq2seqAccuracy) => `${(100 * r.exact).toFixed(2)}% (${r.correct}/${r.total})`;
  log(`held-out exact-sequence accuracy: ${pct(greedy)} greedy${beam ? `, ${pct(beam)} beam ${a.beam}` : ''}; loss ${lastLoss.toFixed(4)} after ${totalSteps} steps, ${trainSeconds.toFixed(1)} s training (+${(evalMs / 1000).toFixed(1)} s per-epoch checks, ${evalSeconds.toFixed(1)} s final evaluation)`);
  if (a.out) {
    const file = path.join(a.out, 'seq2seq.safetensors');
    model.save(file, { task: a.task, bosId: BOS, eosId: EOS });
    if (a.verbose) log(`saved ${file}`);
  }
  const result = { task: a.task, greedy: strip(greedy), beam: beam && strip(beam), loss: lastLoss, firstLoss, steps: totalSteps, trainSeconds, evalSeconds, parameters: model.numParameters() };
  optimizer.dispose();
  model.dispose();
  return result;
}

const strip = ({ exact, correct, total }: Seq2seqAccuracy): Seq2seqAccuracy => ({ exact, correct, total });
