// Command-line options of `cudagrad train gpt`, their defaults (a CPU size that
// trains tiny Shakespeare to a validation loss below 1.70 in a few minutes on
// 2 cores; nanoGPT's shakespeare_char size on a GPU) and their parsing.
import type { Device } from '../../device';

export const TRAIN_GPT_USAGE = `usage: cudagrad train gpt [options]

Pretrains a character-level GPT (GPT-2 architecture) on tiny Shakespeare (shipped in
the package) by next-token prediction: 90/10 train/validation split, AdamW with linear
warmup and cosine decay, gradient clipping; a progress bar with the loss, tokens/s and
ETA, periodic validation loss, atomic checkpoints, a generated sample at the end.

options:
  --data FILE             text file (default: tiny Shakespeare, data/tinyshakespeare.txt)
  --tokenizer char|gpt2   characters of the file (default) or GPT-2's BPE
  --init-from DIR         fine-tune: start from a saved model folder (its config and tokenizer)
  --device cpu|cuda       device (default: the default device; sizes below depend on it)
  --steps N               optimizer steps (cpu 2000, cuda 5000)
  --batch-size N          sequences per step (cpu 16, cuda 64)
  --block-size N          context length (cpu 128, cuda 256)
  --n-layer N --n-head N --n-embd N   model size (cpu 3, 4, 128; cuda 6, 6, 384)
  --dropout X             (cpu 0, cuda 0.2)
  --precision P           CUDA matmul/attention precision: highest (float32), high (TF32)
                          or medium (bf16 mixed precision, float32 weights; the cuda default);
                          the CPU always computes in float32
  --lr X --min-lr X       peak and final learning rate (cpu 4e-3, 4e-4; cuda 1e-3, 1e-4)
  --warmup N              warmup steps (default 100)
  --weight-decay X        AdamW decay of the weight matrices (default 0.1)
  --grad-clip X           global gradient-norm clip, 0 for none (default 1)
  --eval-interval N       validation loss and checkpoint every N steps (default 250)
  --eval-windows N        validation windows per periodic evaluation (default 160); the final
                          evaluation uses the whole validation split
  --log-interval N        loss readout every N steps (default 10)
  --seed N                seed: initialisation, batches, dropout (default 1337)
  --out DIR               checkpoints and the final model folder (default out-gpt)
  --resume                continue from DIR/checkpoint.safetensors exactly
  --sample-tokens N       length of the sample printed at the end (default 300)
  --verbose 0|1|2         0 quiet, 1 progress bar (default), 2 one line per readout
  -h, --help              this help`;

export interface TrainGPTArgs {
  data: string | null;
  tokenizer: 'char' | 'gpt2';
  initFrom: string | null;
  device: Device | null;
  steps: number;
  batchSize: number;
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  dropout: number;
  /** CUDA matmul precision for the run (cg.setMatmulPrecision); the CPU ignores it. */
  precision: 'highest' | 'high' | 'medium';
  lr: number;
  minLr: number;
  warmup: number;
  weightDecay: number;
  beta2: number;
  gradClip: number;
  evalInterval: number;
  evalWindows: number;
  logInterval: number;
  seed: number;
  out: string;
  resume: boolean;
  sampleTokens: number;
  verbose: 0 | 1 | 2;
  /** Options the user gave (the rest are defaults). */
  given: string[];
  /** Stop right after the checkpoint at this step, as if interrupted (tests). */
  stopAfter?: number;
}

const CPU = { steps: 2000, batchSize: 16, blockSize: 128, nLayer: 3, nHead: 4, nEmbd: 128, dropout: 0, lr: 4e-3, minLr: 4e-4, precision: 'highest' as const };
const CUDA = { steps: 5000, batchSize: 64, blockSize: 256, nLayer: 6, nHead: 6, nEmbd: 384, dropout: 0.2, lr: 1e-3, minLr: 1e-4, precision: 'medium' as const };

type Kind = 'int' | 'int0' | 'num' | 'str' | 'flag';
const FLAGS: Record<string, [keyof TrainGPTArgs, Kind]> = {
  '--data': ['data', 'str'],
  '--tokenizer': ['tokenizer', 'str'],
  '--init-from': ['initFrom', 'str'],
  '--device': ['device', 'str'],
  '--steps': ['steps', 'int'],
  '--batch-size': ['batchSize', 'int'],
  '--block-size': ['blockSize', 'int'],
  '--n-layer': ['nLayer', 'int0'],
  '--n-head': ['nHead', 'int'],
  '--n-embd': ['nEmbd', 'int'],
  '--dropout': ['dropout', 'num'],
  '--precision': ['precision', 'str'],
  '--lr': ['lr', 'num'],
  '--min-lr': ['minLr', 'num'],
  '--warmup': ['warmup', 'int0'],
  '--weight-decay': ['weightDecay', 'num'],
  '--beta2': ['beta2', 'num'],
  '--grad-clip': ['gradClip', 'num'],
  '--eval-interval': ['evalInterval', 'int'],
  '--eval-windows': ['evalWindows', 'int'],
  '--log-interval': ['logInterval', 'int'],
  '--seed': ['seed', 'int0'],
  '--out': ['out', 'str'],
  '--resume': ['resume', 'flag'],
  '--sample-tokens': ['sampleTokens', 'int0'],
  '--verbose': ['verbose', 'int0'],
};

/** Parses the options after `train gpt`; `defaultDevice` picks the size defaults. Throws a message for the user on bad input. */
export function parseTrainGPTArgs(argv: string[], defaultDevice: Device): TrainGPTArgs | 'help' {
  const given = new Map<string, string | boolean>();
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined];
    if (flag === '-h' || flag === '--help') return 'help';
    const spec = FLAGS[flag];
    if (!spec) throw new Error(`unknown option '${argv[i]}'`);
    if (spec[1] === 'flag') {
      given.set(spec[0], true);
      continue;
    }
    const v = inline ?? argv[++i];
    if (v === undefined) throw new Error(`${flag} needs a value`);
    given.set(spec[0], v);
  }
  const value = (flag: string, key: string, kind: Kind, v: string | boolean): unknown => {
    if (kind === 'flag' || kind === 'str') return v;
    const n = Number(v);
    if (kind === 'num') {
      if (v === '' || !Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a number >= 0, got ${v}`);
      return n;
    }
    const min = kind === 'int' ? 1 : 0;
    if (v === '' || !Number.isSafeInteger(n) || n < min) throw new Error(`${flag} needs an integer >= ${min}, got ${v}`);
    return n;
  };
  const dev = (given.get('device') as string | undefined) ?? defaultDevice;
  if (dev !== 'cpu' && dev !== 'cuda' && !/^cuda:\d+$/.test(dev)) throw new Error(`--device needs cpu or cuda, got ${dev}`);
  const size = dev === 'cpu' ? CPU : CUDA;
  const a: TrainGPTArgs = {
    ...size,
    data: null,
    tokenizer: 'char',
    initFrom: null,
    device: (given.get('device') as Device | undefined) ?? null,
    warmup: 100,
    weightDecay: 0.1,
    beta2: 0.99,
    gradClip: 1,
    evalInterval: 250,
    evalWindows: 160,
    logInterval: 10,
    seed: 1337,
    out: 'out-gpt',
    resume: false,
    sampleTokens: 300,
    verbose: 1,
    given: [...given.keys()],
  };
  for (const [flag, [key, kind]] of Object.entries(FLAGS)) {
    if (given.has(key) && key !== 'device') (a as unknown as Record<string, unknown>)[key] = value(flag, key, kind, given.get(key)!);
  }
  if (!['highest', 'high', 'medium'].includes(a.precision)) throw new Error(`--precision needs highest, high or medium, got ${a.precision}`);
  if (a.tokenizer !== 'char' && a.tokenizer !== 'gpt2') throw new Error(`--tokenizer needs char or gpt2, got ${a.tokenizer}`);
  if (a.verbose > 2) throw new Error(`--verbose needs 0, 1 or 2, got ${a.verbose}`);
  if (a.dropout >= 1) throw new Error(`--dropout needs a number in [0, 1), got ${a.dropout}`);
  if (a.beta2 >= 1) throw new Error(`--beta2 needs a number in [0, 1), got ${a.beta2}`);
  if (a.nEmbd % a.nHead !== 0) throw new Error(`--n-embd (${a.nEmbd}) must be divisible by --n-head (${a.nHead})`);
  if (!a.out) throw new Error('--out needs a folder');
  return a;
}

/** The settings that define a run: a checkpoint made under other values cannot be resumed with these. */
export const RUN_KEYS = ['data', 'tokenizer', 'initFrom', 'steps', 'batchSize', 'blockSize', 'nLayer', 'nHead', 'nEmbd', 'dropout', 'precision', 'lr', 'minLr', 'warmup', 'weightDecay', 'beta2', 'gradClip', 'seed'] as const;

/** Settings a resumed run takes from its checkpoint unless given again (they do not change the results). */
export const RESUME_KEYS = ['evalInterval', 'evalWindows', 'logInterval', 'sampleTokens'] as const;
