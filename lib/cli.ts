#!/usr/bin/env node
// The cudagrad command line: `cudagrad demo` (the smoke demo), `cudagrad info`,
// `cudagrad train gpt` (the main job: models/gpt/train.ts), `cudagrad train mlp`
// (the reference DNN, see train-mlp.ts), `cudagrad train seq2seq` (the
// encoder-decoder Transformer on a synthetic task, train-seq2seq.ts),
// `cudagrad generate` and `cudagrad finetune classify` (models/gpt/cli.ts).
import * as cg from './index';
import { parseTrainMlpArgs, trainMlp, TRAIN_MLP_USAGE } from './train-mlp';
import { parseTrainSeq2seqArgs, trainSeq2seq, TRAIN_SEQ2SEQ_USAGE } from './train-seq2seq';
import { finetuneCommand, generateCommand, trainGPTCommand } from './models/gpt/cli';

const USAGE = `usage: cudagrad <command>

commands:
  demo       smoke demo: devices, tensor creation and round trips, RNG, memory
  info       devices and build as JSON
  train gpt  the main job: pretrain a character-level GPT on tiny Shakespeare
             (see cudagrad train gpt --help)
  train mlp  train the reference DNN on MNIST digits (see cudagrad train mlp --help)
  train seq2seq  train the encoder-decoder Transformer on a synthetic task (see cudagrad train seq2seq --help)
  generate   generate text with a trained GPT (see cudagrad generate --help)
  finetune   fine-tune a trained GPT as a classifier (see cudagrad finetune --help)`;

function info(): void {
  console.log(
    JSON.stringify(
      {
        version: cg.version,
        defaultDevice: cg.defaultDevice(),
        cuda: { compiled: cg.cuda.compiled(), available: cg.cuda.available(), reason: cg.cuda.reason(), runtime: cg.cuda.runtime() },
        devices: cg.devices(),
      },
      null,
      2,
    ),
  );
}

async function demo(): Promise<void> {
  console.log(`cudagrad ${cg.version}`);
  for (const d of cg.devices()) {
    if (d.type === 'cpu') console.log(`  cpu: ${d.name}, ${d.threads} threads, SIMD ${d.simd}`);
    else console.log(`  ${d.device}: ${d.name}, sm_${d.computeCapability.replace('.', '')}, ${(d.totalMemory / 2 ** 30).toFixed(1)} GiB`);
  }
  if (!cg.cuda.available()) console.log(`  cuda: not available (${cg.cuda.reason()})`);
  const device = cg.defaultDevice();
  console.log(`default device: ${device}`);

  const checks: [string, boolean][] = [];
  cg.tidy(() => {
    const a = cg.tensor([[1, 2, 3], [4, 5, 6]]);
    checks.push(['nested array round trip', a.toArray().join() === '1,2,3,4,5,6' && a.shape.join() === '2,3']);
    const r1 = cg.randn([1000], { seed: 42 }).toArray();
    const r2 = cg.randn([1000], { seed: 42, device: 'cpu' }).toArray();
    checks.push([`randn(seed 42) same on ${device} and cpu`, r1.every((v, i) => v === r2[i])]);
    const mean = Array.from(r1).reduce((s, v) => s + v, 0) / r1.length;
    checks.push([`randn mean ${mean.toFixed(3)} near 0`, Math.abs(mean) < 0.15]);
    const z = cg.arange(12).reshape(3, -1);
    checks.push(['arange(12).reshape(3, -1) is [3, 4]', z.shape.join() === '3,4' && z.toArray()[11] === 11]);
  });
  checks.push(['tidy freed every tensor', cg.memory().numTensors === 0]);
  const t = cg.ones([256, 256]);
  const values = await t.data();
  checks.push(['async data() of ones([256, 256])', values.length === 65536 && values.every((v) => v === 1)]);
  t.dispose();

  for (const [name, ok] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}`);
  const failed = checks.filter(([, ok]) => !ok).length;
  console.log(failed ? `${failed} check(s) failed` : 'all checks passed');
  if (failed) process.exitCode = 1;
}

async function train(argv: string[]): Promise<void> {
  const [model, ...rest] = argv;
  if (model === undefined || model === '--help' || model === '-h') {
    console.log(`usage: cudagrad train <model> [options]\n\nmodels:\n  gpt      a GPT on tiny Shakespeare (cudagrad train gpt --help)\n  mlp      the reference DNN (cudagrad train mlp --help)\n  seq2seq  the encoder-decoder Transformer (cudagrad train seq2seq --help)`);
    return;
  }
  if (model === 'gpt') return trainGPTCommand(rest);
  const models = {
    mlp: { parse: parseTrainMlpArgs, usage: TRAIN_MLP_USAGE, run: (a: never) => trainMlp(a) },
    seq2seq: { parse: parseTrainSeq2seqArgs, usage: TRAIN_SEQ2SEQ_USAGE, run: (a: never) => trainSeq2seq(a) },
  };
  if (model !== 'mlp' && model !== 'seq2seq') {
    console.error(`cudagrad train: unknown model '${model}' (available: gpt, mlp, seq2seq)`);
    process.exitCode = 2;
    return;
  }
  const m = models[model];
  let args;
  try {
    args = m.parse(rest);
  } catch (e) {
    console.error(`cudagrad train ${model}: ${(e as Error).message}\n\n${m.usage}`);
    process.exitCode = 2;
    return;
  }
  if (args === 'help') {
    console.log(m.usage);
    return;
  }
  await m.run(args as never);
}

async function main(argv: string[]): Promise<void> {
  const [cmd] = argv;
  if (cmd === 'demo') return demo();
  if (cmd === 'info') return info();
  if (cmd === 'train') return train(argv.slice(1));
  if (cmd === 'generate') return generateCommand(argv.slice(1));
  if (cmd === 'finetune') return finetuneCommand(argv.slice(1));
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(USAGE);
    return;
  }
  console.error(`cudagrad: unknown command '${cmd}'\n\n${USAGE}`);
  process.exitCode = 2;
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? `cudagrad: ${e.message}` : e);
  process.exitCode = 1;
});
