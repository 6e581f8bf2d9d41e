// `cudagrad train gpt`: pretraining (or LM fine-tuning, --init-from) of a GPT
// on a text file by next-token prediction. Every step runs inside tidy();
// the loss is read back only every logInterval steps (the readout is the only
// host sync besides the clip norm and evaluation). Checkpoints (model,
// optimizer, scheduler, step, RNG state, run settings, loss history) are
// written atomically every evalInterval steps; --resume continues bit for bit
// (batches are a function of (seed, step), dropout draws from the restored
// generator). At the end: validation loss over the whole validation split,
// the model folder (HF GPT-2 layout + tokenizer) and a generated sample.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { defaultDevice, setDefaultDevice } from '../../device';
import { loadCheckpoint, saveCheckpoint } from '../../io/checkpoint';
import { readSafetensors } from '../../io/safetensors';
import type { Module } from '../../nn/module';
import { AdamW } from '../../optim/adam';
import type { AdamOptions } from '../../optim/adam';
import { CosineWithWarmup } from '../../optim/schedulers';
import { getMatmulPrecision, getNumThreads, manualSeed, setMatmulPrecision } from '../../runtime';
import { tidy } from '../../scope';
import { Tensor } from '../../tensor';
import { RESUME_KEYS, RUN_KEYS } from './args';
import type { TrainGPTArgs } from './args';
import { batchOffsets, evalLoss, loadText, makeBatch, SHAKESPEARE } from './data';
import { GPT } from './model';
import { TextStream, GPT2Tokenizer, tokenizerFromJSON } from './tokenizer';
import type { Tokenizer } from './tokenizer';
import { fmtTime, Progress } from './progress';

/** AdamW that decays only the weight matrices and embeddings (ndim >= 2), as nanoGPT. */
export class GPTAdamW extends AdamW {
  readonly #noDecay: Set<Tensor>;
  constructor(params: Tensor[], opts: AdamOptions = {}) {
    super(params, opts);
    this.#noDecay = new Set(params.filter((p) => p.ndim < 2));
  }
  protected weightDecayOf(p: Tensor): number {
    return this.#noDecay.has(p) ? 0 : this.weightDecay;
  }
}

export interface TrainGPTResult {
  /** Mean loss over the whole validation split after the last step. */
  valLoss: number;
  /** Training loss of every step (including those before a resume). */
  losses: number[];
  /** Periodic validation losses. */
  evals: { step: number; valLoss: number }[];
  steps: number;
  /** Wall time of this process's training steps (not the final evaluation and sample). */
  seconds: number;
  tokensPerSecond: number;
  sample: string;
  out: string;
}

interface Extra {
  run: Record<string, unknown>;
  config: Record<string, unknown>;
  tokenizer: unknown;
  losses: number[];
  evals: { step: number; valLoss: number }[];
}

function readExtra(file: string): Extra {
  const { tensors, metadata } = readSafetensors(file, { device: 'cpu' });
  Object.values(tensors).forEach((t) => t.dispose());
  const meta = JSON.parse(metadata['cudagrad.checkpoint'] ?? '{}') as { extra?: Extra };
  if (!meta.extra?.run) throw new Error(`--resume: ${file} is not a checkpoint of cudagrad train gpt`);
  return meta.extra;
}

const flagOf = (k: string) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

export async function trainGPT(a: TrainGPTArgs, log: (s: string) => void = console.log): Promise<TrainGPTResult> {
  const before = getMatmulPrecision();
  try {
    return await train(a, log);
  } finally {
    setMatmulPrecision(before);
  }
}

async function train(a: TrainGPTArgs, log: (s: string) => void): Promise<TrainGPTResult> {
  if (a.device) setDefaultDevice(a.device);
  const device = defaultDevice();
  const ckpt = path.join(a.out, 'checkpoint.safetensors');
  let extra: Extra | null = null;
  if (a.resume) {
    if (!fs.existsSync(ckpt)) throw new Error(`--resume: ${ckpt} does not exist`);
    extra = readExtra(ckpt);
    for (const k of RUN_KEYS) {
      const was = extra.run[k];
      if (was === undefined) continue; // a setting newer than the checkpoint (precision): the current value
      if (a.given.includes(k) && was !== a[k]) throw new Error(`--resume: ${ckpt} was made with ${flagOf(k)} ${was}, not ${a[k]} (a checkpoint of another configuration)`);
      (a as unknown as Record<string, unknown>)[k] = was;
    }
    for (const k of RESUME_KEYS) if (!a.given.includes(k) && typeof extra.run[k] === 'number') a[k] = extra.run[k] as number;
  }
  if (device !== 'cpu') setMatmulPrecision(a.precision); // the whole step: bf16 autocast by default on a GPU
  const run = Object.fromEntries([...RUN_KEYS, ...RESUME_KEYS].map((k) => [k, a[k]]));
  manualSeed(a.seed);

  // Model and data.
  let model: GPT;
  let tokenizer: Tokenizer | null = null;
  if (a.initFrom) {
    const sized = (['nLayer', 'nHead', 'nEmbd', 'tokenizer'] as const).filter((k) => a.given.includes(k));
    if (sized.length) throw new Error(`--init-from takes the model's size and tokenizer from ${a.initFrom}; drop ${sized.map(flagOf).join(', ')}`);
    model = GPT.fromPretrained(a.initFrom, { device, dropout: a.dropout });
    tokenizer = (model as GPT & { tokenizer: Tokenizer | null }).tokenizer ?? (model.config.vocabSize === 50257 ? new GPT2Tokenizer() : null);
    if (!tokenizer) throw new Error(`--init-from: ${a.initFrom}/config.json names no tokenizer`);
    if (!a.given.includes('blockSize')) a.blockSize = model.config.blockSize;
    if (a.blockSize > model.config.blockSize) throw new Error(`--block-size ${a.blockSize} is longer than the model's blockSize ${model.config.blockSize}`);
  } else if (extra) {
    tokenizer = tokenizerFromJSON(extra.tokenizer);
  } else if (a.tokenizer === 'gpt2') tokenizer = new GPT2Tokenizer();
  const data = loadText(a.data ?? SHAKESPEARE, tokenizer);
  tokenizer = data.tokenizer;
  if (!a.initFrom) {
    const cfg = { vocabSize: tokenizer.vocabSize, blockSize: a.blockSize, nLayer: a.nLayer, nHead: a.nHead, nEmbd: a.nEmbd, dropout: a.dropout };
    model = new GPT({ ...cfg, device });
  }
  model = model!;
  const B = a.batchSize;
  const T = a.blockSize;
  const opt = new GPTAdamW(model.parameters(), { lr: a.lr, beta1: 0.9, beta2: a.beta2, weightDecay: a.weightDecay, globalClipNorm: a.gradClip > 0 ? a.gradClip : null });
  const sched = new CosineWithWarmup(opt, { warmupSteps: Math.min(a.warmup, a.steps), totalSteps: a.steps, minLr: Math.min(a.minLr, a.lr) });
  let start = 0;
  const losses: number[] = [];
  const evals: { step: number; valLoss: number }[] = [];
  if (extra) {
    start = loadCheckpoint(ckpt, { model: model as unknown as Module, optimizer: opt, scheduler: sched }).step;
    losses.push(...extra.losses.slice(0, start));
    evals.push(...extra.evals.filter((e) => e.step <= start));
    log(`resuming from ${ckpt} at step ${start}`);
  }
  const c = model.config;
  const where = a.data ?? `tiny Shakespeare (${path.relative(process.cwd(), SHAKESPEARE) || SHAKESPEARE})`;
  const threads = device === 'cpu' ? `, ${getNumThreads()} threads` : `, matmul precision ${a.precision}`;
  if (a.verbose) {
    log(`${where}: ${data.train.length.toLocaleString('en')} train / ${data.val.length.toLocaleString('en')} val tokens (${tokenizer.toJSON().type}, vocab ${tokenizer.vocabSize})`);
    log(`GPT ${c.nLayer} layers x ${c.nHead} heads x ${c.nEmbd} (${(model.numParameters() / 1e6).toFixed(2)}M parameters), block ${T}, batch ${B}, ${a.steps} steps, lr ${a.lr} -> ${a.minLr}, on ${device}${threads}`);
  }
  const save = (step: number) =>
    saveCheckpoint(ckpt, { model: model as unknown as Module, optimizer: opt, scheduler: sched, step, extra: { run, config: { ...c }, tokenizer: tokenizer!.toJSON(), losses, evals } satisfies Extra });

  // Training.
  const progress = new Progress(a.verbose, a.steps, start);
  const pending: Tensor[] = [];
  const t0 = performance.now();
  let evalMs = 0;
  for (let step = start; step < a.steps; step++) {
    const offs = batchOffsets(a.seed, step, B, data.train.length, T);
    const loss = tidy(() => {
      const { x, y } = makeBatch(data.train, offs, T, device);
      const l = model.forward(x, y).loss!;
      l.backward();
      opt.step();
      opt.zeroGrad();
      return l;
    });
    sched.step();
    pending.push(loss);
    const done = step + 1;
    const evalNow = done % a.evalInterval === 0 && done < a.steps;
    if (done % a.logInterval === 0 || done === a.steps || evalNow) {
      for (const l of pending.splice(0)) {
        losses.push(l.item());
        l.dispose();
      }
      progress.update(done, losses[losses.length - 1], ((done - start) * B * T) / ((performance.now() - t0 - evalMs) / 1000));
    }
    if (evalNow) {
      const e0 = performance.now();
      evals.push({ step: done, valLoss: evalLoss(model, data.val, T, B, a.evalWindows).loss });
      progress.val(done, evals[evals.length - 1].valLoss);
      save(done);
      evalMs += performance.now() - e0; // tokens/s counts training time only
      if (a.stopAfter !== undefined && done >= a.stopAfter) {
        progress.end();
        opt.dispose();
        model.dispose();
        return { valLoss: NaN, losses, evals, steps: done, seconds: 0, tokensPerSecond: 0, sample: '', out: a.out };
      }
    }
  }
  const seconds = (performance.now() - t0 - evalMs) / 1000; // training steps only
  const tokensPerSecond = ((a.steps - start) * B * T) / Math.max(seconds, 1e-9);
  progress.end();

  // Final evaluation, model folder, sample.
  const final = evalLoss(model, data.val, T, B);
  evals.push({ step: a.steps, valLoss: final.loss });
  save(a.steps);
  model.savePretrained(a.out, tokenizer);
  log(
    `val loss ${final.loss.toFixed(4)} (whole validation split, ${final.tokens.toLocaleString('en')} tokens) after ${a.steps} steps; ` +
      `training ${fmtTime(seconds)} at ${Math.round(tokensPerSecond).toLocaleString('en')} tokens/s`,
  );
  log(`saved ${path.join(a.out, 'config.json')}, model.safetensors (GPT-2 layout) and checkpoint.safetensors`);
  let sample = '';
  if (a.sampleTokens > 0) {
    const tok = tokenizer;
    const prompt = tok instanceof GPT2Tokenizer ? [tok.eotToken] : (() => { try { return tok.encode('\n'); } catch { return [data.train[0]]; } })();
    const stream = new TextStream(tokenizer);
    const write = (s: string) => (sample += s) && a.verbose && process.stdout.write(s);
    if (a.verbose) log('--- sample (temperature 0.8, top-k 200) ---');
    write(tokenizer.decode(prompt));
    model.generate(prompt, { maxNewTokens: a.sampleTokens, temperature: 0.8, topK: 200, seed: a.seed, onToken: (id) => write(stream.push(id)) });
    write(stream.flush());
    if (a.verbose) process.stdout.write('\n---\n');
  }
  opt.dispose();
  model.dispose();
  return { valLoss: final.loss, losses, evals, steps: a.steps, seconds, tokensPerSecond, sample, out: a.out };
}
