// `cudagrad train mlp`: trains the reference DNN (Dense(128, relu) ->
// Dense(10, softmax), behind a Rescaling layer that standardises the pixels
// with the training set's mean and std) with Adam (cosine-decayed learning
// rate) on sparse categorical cross-entropy, and prints the held-out accuracy.
// With --out DIR a checkpoint is written atomically after every epoch and the
// final model saved; --resume continues from the checkpoint, bit for bit.
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as cg from './index';

export const TRAIN_MLP_USAGE = `usage: cudagrad train mlp [options]

Trains the reference DNN: Rescaling (standardised pixels) -> Dense(128, relu) ->
Dense(10, softmax), Adam with a cosine-decayed learning rate, sparse categorical
cross-entropy; prints a progress bar per epoch and the final held-out accuracy.

options:
  --data mnist|fashion|DIR  dataset (default mnist):
                            mnist    the 10,000 MNIST test digits shipped in the package,
                                     split 8,000 train / 2,000 held out
                            fashion  Fashion-MNIST (60,000 train / 10,000 test) from Debian's
                                     dataset-fashion-mnist package (${cg.data.FASHION_MNIST_DIR};
                                     install: apt-get install dataset-fashion-mnist)
                            DIR      a folder of IDX files, raw or .gz: train-images-idx3-ubyte,
                                     train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
                                     t10k-labels-idx1-ubyte (t10k-* alone: split 8,000 / 2,000)
  --epochs N                epochs (default 10)
  --batch-size N            batch size (default 32)
  --lr X                    peak learning rate, cosine-decayed to 0 over the run (default 0.002)
  --seed N                  seed of the random generator: init and shuffling (default 0)
  --device cpu|cuda         device (default: the default device)
  --out DIR                 after every epoch write DIR/checkpoint.safetensors (atomically);
                            at the end save the model to DIR/model (config.json + model.safetensors)
  --resume                  continue from DIR/checkpoint.safetensors (needs --out)
  --verbose 0|1|2           0 quiet, 1 progress bar (default), 2 one line per epoch
  -h, --help                this help`;

export interface TrainMlpArgs {
  data: string;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  device?: cg.Device;
  out?: string;
  resume: boolean;
  verbose: 0 | 1 | 2;
}

/** Parses the options after `train mlp`; throws a message for the user on bad input. */
export function parseTrainMlpArgs(argv: string[]): TrainMlpArgs | 'help' {
  const a: TrainMlpArgs = { data: 'mnist', epochs: 10, batchSize: 32, lr: 0.002, seed: 0, resume: false, verbose: 1 };
  const int = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isSafeInteger(n) || n < min) throw new Error(`${name} needs an integer >= ${min}, got ${v ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '-h':
      case '--help':
        return 'help';
      case '--data':
        a.data = value() ?? '';
        if (!a.data) throw new Error('--data needs mnist, fashion or a folder');
        break;
      case '--epochs':
        a.epochs = int('--epochs', value(), 1);
        break;
      case '--batch-size':
        a.batchSize = int('--batch-size', value(), 1);
        break;
      case '--lr': {
        const v = value();
        a.lr = Number(v);
        if (v === undefined || !(a.lr > 0) || !Number.isFinite(a.lr)) throw new Error(`--lr needs a positive number, got ${v ?? 'nothing'}`);
        break;
      }
      case '--seed':
        a.seed = int('--seed', value(), 0);
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
      case '--resume':
        a.resume = true;
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
  if (a.resume && !a.out) throw new Error('--resume needs --out DIR (the folder holding checkpoint.safetensors)');
  return a;
}

// Mean and standard deviation of all values (float64 sums).
function meanStd(x: cg.Tensor): { mean: number; std: number } {
  const v = x.toArray();
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  const mean = s / v.length;
  let q = 0;
  for (let i = 0; i < v.length; i++) q += (v[i] - mean) ** 2;
  return { mean, std: Math.sqrt(q / v.length) || 1 };
}

export interface TrainMlpResult {
  accuracy: number;
  loss: number;
  epochs: number;
  seconds: number;
  dataset: string;
  history: Record<string, number[]>;
}

export async function trainMlp(a: TrainMlpArgs, log: (s: string) => void = console.log): Promise<TrainMlpResult> {
  if (a.device) cg.setDefaultDevice(a.device);
  const ds = cg.data.loadMnist({ data: a.data });
  const { train, test } = ds;
  const features = train.x.shape[1];
  const { mean, std } = meanStd(train.x);
  cg.manualSeed(a.seed);
  const k = cg.keras;
  const model = k.sequential(
    [
      k.rescaling({ scale: Math.fround(1 / std), offset: Math.fround(-mean / std), inputShape: [features] }),
      k.dense({ units: 128, activation: 'relu' }),
      k.dense({ units: 10, activation: 'softmax' }),
    ],
    { name: 'mlp' },
  );
  const optimizer = new cg.optim.Adam(model.parameters(), { lr: a.lr });
  model.compile({ optimizer, loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const steps = Math.ceil(train.x.shape[0] / a.batchSize);
  const scheduler = new cg.optim.CosineWithWarmup(optimizer, { totalSteps: a.epochs * steps });

  const ckpt = a.out ? path.join(a.out, 'checkpoint.safetensors') : null;
  let initialEpoch = 0;
  let history: Record<string, number[]> = {};
  if (a.resume && ckpt) {
    if (!fs.existsSync(ckpt)) throw new Error(`--resume: ${ckpt} does not exist`);
    const r = model.loadCheckpoint(ckpt, { scheduler });
    initialEpoch = r.epoch;
    history = ((r.extra as { history?: Record<string, number[]> } | null)?.history ?? {}) as Record<string, number[]>;
    log(`resuming from ${ckpt} after epoch ${initialEpoch}`);
  }
  if (a.verbose) log(`${ds.description} (${ds.dir}); ${model.numParameters()} parameters; batch ${a.batchSize}, ${a.epochs} epoch${a.epochs === 1 ? '' : 's'}`);
  const t0 = performance.now();
  const callbacks: cg.keras.Callback[] = [{ onBatchEnd: () => scheduler.step() }];
  if (ckpt) {
    callbacks.push({
      onEpochEnd: (epoch, logs) => {
        for (const [key, v] of Object.entries(logs)) (history[key] ??= []).push(v);
        model.saveCheckpoint(ckpt, { epoch: epoch + 1, scheduler, extra: { history, epochs: a.epochs, args: { ...a, device: a.device ?? null } } });
      },
    });
  }
  const h = await model.fit(train.x, train.y, {
    epochs: a.epochs,
    batchSize: a.batchSize,
    validationData: [test.x, test.y],
    initialEpoch,
    verbose: a.verbose,
    callbacks,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (!ckpt) history = h.history;
  const final = model.evaluate(test.x, test.y, { batchSize: 256 });
  if (a.out) {
    model.save(path.join(a.out, 'model'));
    if (a.verbose) log(`saved ${path.join(a.out, 'model')} and ${ckpt}`);
  }
  const split = ds.description.includes('held out') ? 'held-out' : 'test';
  log(`${split} accuracy: ${(100 * final.accuracy).toFixed(2)}% (loss ${final.loss.toFixed(4)}) after ${a.epochs} epoch${a.epochs === 1 ? '' : 's'}, ${seconds.toFixed(1)} s`);
  return { accuracy: final.accuracy, loss: final.loss, epochs: a.epochs, seconds, dataset: ds.description, history };
}
