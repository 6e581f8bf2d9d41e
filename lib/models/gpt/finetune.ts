// `cudagrad finetune classify`: fine-tunes a pre-trained GPT as a sequence
// classifier (GPTForSequenceClassification) on a labelled task, the whole
// network with AdamW (warmup + cosine), and reports the test accuracy.
// Sequences are right-padded per batch; the head reads each one's last real token.
import * as path from 'node:path';

import { noGrad } from '../../autograd';
import { tensor } from '../../creation';
import { defaultDevice, setDefaultDevice } from '../../device';
import type { Device } from '../../device';
import { saveSafetensors } from '../../io/safetensors';
import { writeFileAtomic } from '../../io/atomic';
import { CosineWithWarmup } from '../../optim/schedulers';
import { manualSeed } from '../../runtime';
import { tidy } from '../../scope';
import { GPTForSequenceClassification } from './classify';
import { loadGPT } from './load';
import { GPT } from './model';
import { readTsv, shakespearePlays } from './tasks';
import type { Example, Task } from './tasks';
import { GPTAdamW } from './train';

export const FINETUNE_USAGE = `usage: cudagrad finetune classify --checkpoint DIR [options]

Fine-tunes a pre-trained GPT as a sequence classifier (the hidden state of each
sequence's last token -> a linear layer; GPTForSequenceClassification) and prints the
test accuracy. LM fine-tuning on a new text: cudagrad train gpt --init-from DIR --data FILE.

options:
  --checkpoint DIR   pre-trained model folder (the --out of cudagrad train gpt)
  --task NAME        built-in task (default shakespeare-plays: speeches of Coriolanus vs
                     Romeo and Juliet from the shipped tiny Shakespeare, 80/20 split)
  --data FILE        'label<TAB>text' lines instead of a built-in task
  --test FILE        test examples for --data (default: every 5th line of --data)
  --epochs N         passes over the training examples (default 4)
  --batch-size N     (default 32)
  --lr X             peak learning rate, 10% warmup then cosine decay (default 3e-4)
  --weight-decay X   (default 0.01)
  --seed N           (default 0)
  --from-scratch     baseline: the same architecture randomly initialised (GPT-2 init)
  --device cpu|cuda
  --out DIR          save the classifier: config.json + classifier.safetensors
  --verbose 0|1|2    (default 1)
  -h, --help         this help`;

export interface FinetuneArgs {
  checkpoint: string;
  task: string;
  data: string | null;
  test: string | null;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  seed: number;
  device: Device | null;
  out: string | null;
  verbose: number;
  fromScratch: boolean;
}

export function parseFinetuneArgs(argv: string[]): FinetuneArgs | 'help' {
  const a: FinetuneArgs = { checkpoint: '', task: 'shakespeare-plays', data: null, test: null, epochs: 4, batchSize: 32, lr: 3e-4, weightDecay: 0.01, seed: 0, device: null, out: null, verbose: 1, fromScratch: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined];
    if (flag === '-h' || flag === '--help') return 'help';
    if (flag === '--from-scratch') {
      a.fromScratch = true;
      continue;
    }
    const v = inline ?? argv[++i];
    if (v === undefined) throw new Error(`${flag} needs a value`);
    const n = Number(v);
    const int = (min: number) => {
      if (!Number.isSafeInteger(n) || n < min) throw new Error(`${flag} needs an integer >= ${min}, got ${v}`);
      return n;
    };
    const pos = () => {
      if (!(n >= 0) || !Number.isFinite(n)) throw new Error(`${flag} needs a number >= 0, got ${v}`);
      return n;
    };
    if (flag === '--checkpoint') a.checkpoint = v;
    else if (flag === '--task') a.task = v;
    else if (flag === '--data') a.data = v;
    else if (flag === '--test') a.test = v;
    else if (flag === '--epochs') a.epochs = int(1);
    else if (flag === '--batch-size') a.batchSize = int(1);
    else if (flag === '--lr') a.lr = pos();
    else if (flag === '--weight-decay') a.weightDecay = pos();
    else if (flag === '--seed') a.seed = int(0);
    else if (flag === '--device') a.device = v as Device;
    else if (flag === '--out') a.out = v;
    else if (flag === '--verbose') a.verbose = Math.min(2, int(0));
    else throw new Error(`unknown option '${argv[i]}'`);
  }
  if (!a.checkpoint) throw new Error('--checkpoint DIR is required');
  if (!a.data && a.task !== 'shakespeare-plays') throw new Error(`unknown task '${a.task}' (available: shakespeare-plays)`);
  return a;
}

// A permutation of 0..n-1 from (seed, epoch): Fisher-Yates over a hashed sequence.
function shuffle(n: number, seed: number, epoch: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  let s = (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    const j = s % (i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

export interface FinetuneResult {
  accuracy: number;
  baseline: number;
  train: number;
  test: number;
  seconds: number;
  labels: string[];
}

export async function finetuneClassify(a: FinetuneArgs, log: (s: string) => void = console.log): Promise<FinetuneResult> {
  if (a.device) setDefaultDevice(a.device);
  const device = defaultDevice();
  const loaded = loadGPT(a.checkpoint, device);
  const { tokenizer } = loaded;
  manualSeed(a.seed);
  let gpt = loaded.model;
  if (a.fromScratch) {
    gpt = new GPT({ ...loaded.model.config, device });
    loaded.model.dispose();
  }
  let task: Task;
  if (a.data) {
    const { labels, examples } = readTsv(a.data);
    const test = a.test ? readTsv(a.test, labels).examples : examples.filter((_, i) => i % 5 === 4);
    task = { name: path.basename(a.data), labels, train: a.test ? examples : examples.filter((_, i) => i % 5 !== 4), test };
  } else task = shakespearePlays(gpt.config.blockSize);
  const clf = new GPTForSequenceClassification(gpt, { numLabels: task.labels.length });
  const T = gpt.config.blockSize;
  const encode = (e: Example) => tokenizer.encode(e.text).slice(0, T);
  const batch = (list: Example[]) => {
    const ids = list.map(encode);
    const L = Math.max(1, ...ids.map((x) => x.length));
    const flat = new Int32Array(list.length * L);
    ids.forEach((x, b) => flat.set(x, b * L));
    return {
      idx: tensor(flat, { shape: [list.length, L], device }),
      labels: tensor(Int32Array.from(list.map((e) => e.label)), { device }),
      lengths: ids.map((x) => Math.max(1, x.length)),
    };
  };
  const stepsPerEpoch = Math.ceil(task.train.length / a.batchSize);
  const total = stepsPerEpoch * a.epochs;
  const opt = new GPTAdamW(clf.parameters(), { lr: a.lr, weightDecay: a.weightDecay, globalClipNorm: 1 });
  const sched = new CosineWithWarmup(opt, { warmupSteps: Math.floor(total / 10), totalSteps: total });
  const counts = task.labels.map((_, l) => task.test.filter((e) => e.label === l).length);
  const baseline = Math.max(...counts) / task.test.length;
  if (a.verbose)
    log(`${task.name}: ${task.labels.join(' vs ')}; ${task.train.length} train / ${task.test.length} test examples; ${a.epochs} epochs of ${stepsPerEpoch} steps on ${device}${a.fromScratch ? ' (from scratch: random initialisation)' : ''}`);
  const evaluate = () => {
    clf.eval();
    let right = 0;
    for (let i = 0; i < task.test.length; i += a.batchSize) {
      const part = task.test.slice(i, i + a.batchSize);
      const pred = noGrad(() => tidy(() => {
        const b = batch(part);
        return Array.from(clf.forward(b.idx, { lengths: b.lengths }).logits.argmax(-1).toArray());
      }));
      pred.forEach((p, j) => (right += p === part[j].label ? 1 : 0));
    }
    clf.train();
    return right / task.test.length;
  };
  const t0 = performance.now();
  for (let epoch = 0; epoch < a.epochs; epoch++) {
    const order = shuffle(task.train.length, a.seed, epoch);
    let sum = 0;
    for (let s = 0; s < stepsPerEpoch; s++) {
      const part = order.slice(s * a.batchSize, (s + 1) * a.batchSize).map((i) => task.train[i]);
      sum += tidy(() => {
        const b = batch(part);
        const loss = clf.forward(b.idx, { labels: b.labels, lengths: b.lengths }).loss!;
        loss.backward();
        opt.step();
        opt.zeroGrad();
        return loss.item();
      });
      sched.step();
    }
    if (a.verbose) log(`epoch ${epoch + 1}/${a.epochs}: train loss ${(sum / stepsPerEpoch).toFixed(4)}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const accuracy = evaluate();
  log(`test accuracy ${(100 * accuracy).toFixed(1)}% on ${task.test.length} examples (majority class ${(100 * baseline).toFixed(1)}%), fine-tuned in ${seconds.toFixed(1)} s`);
  if (a.out) {
    saveSafetensors(path.join(a.out, 'classifier.safetensors'), clf.stateDict());
    const cfg = { ...gpt.config, numLabels: task.labels.length, labels: task.labels, tokenizer: tokenizer.toJSON() };
    writeFileAtomic(path.join(a.out, 'config.json'), [Buffer.from(JSON.stringify(cfg, null, 2) + '\n')]);
    log(`saved ${path.join(a.out, 'classifier.safetensors')}`);
  }
  opt.dispose();
  clf.dispose();
  return { accuracy, baseline, train: task.train.length, test: task.test.length, seconds, labels: task.labels };
}
