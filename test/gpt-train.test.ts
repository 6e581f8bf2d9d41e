// `cudagrad train gpt` on a tiny model and a small slice of tiny Shakespeare:
// the loss falls over 50 steps; two runs with one seed give bitwise-identical
// losses; a run interrupted after a checkpoint and resumed equals the
// uninterrupted one (losses and final weights, dropout on); resuming with
// another configuration is refused; the CLI's options, generate (greedy is
// deterministic and equals the API) and finetune classify.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';

import * as cg from '../lib/index';
import { parseTrainGPTArgs } from '../lib/models/gpt/args';
import { trainGPT } from '../lib/models/gpt/train';
import { loadGPT } from '../lib/models/gpt/load';
import { SHAKESPEARE } from '../lib/models/gpt/data';
import { root } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-gpt-train-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
const text = path.join(tmp, 'shakespeare-30k.txt');
fs.writeFileSync(text, fs.readFileSync(SHAKESPEARE, 'utf8').slice(0, 30000));
const tiny = ['--device', 'cpu', '--data', text, '--n-layer', '2', '--n-head', '2', '--n-embd', '32', '--block-size', '32', '--batch-size', '8', '--lr', '3e-3', '--warmup', '5', '--verbose', '0', '--sample-tokens', '0'];
const args = (...more: string[]) => {
  const a = parseTrainGPTArgs([...tiny, ...more], 'cpu');
  if (a === 'help') throw new Error('help');
  return a;
};
const quiet = () => undefined;
const bytes = (dir: string, f: string) => fs.readFileSync(path.join(dir, f));

t.test('options: CPU and GPU defaults, errors', async (t) => {
  const cpu = parseTrainGPTArgs([], 'cpu') as Exclude<ReturnType<typeof parseTrainGPTArgs>, 'help'>;
  t.match(cpu, { nLayer: 3, nHead: 4, nEmbd: 128, blockSize: 128, batchSize: 16, steps: 2000, lr: 4e-3, dropout: 0, precision: 'highest', out: 'out-gpt', resume: false, given: [] });
  const gpu = parseTrainGPTArgs(['--steps=10'], 'cuda') as typeof cpu;
  t.match(gpu, { nLayer: 6, nHead: 6, nEmbd: 384, blockSize: 256, batchSize: 64, dropout: 0.2, precision: 'medium', steps: 10, given: ['steps'] });
  t.throws(() => parseTrainGPTArgs(['--precision', 'fp16'], 'cuda'), { message: '--precision needs highest, high or medium, got fp16' });
  t.match(parseTrainGPTArgs(['--device', 'cpu'], 'cuda'), { nEmbd: 128, device: 'cpu' }, '--device cpu picks the CPU size');
  t.equal(parseTrainGPTArgs(['--help'], 'cpu'), 'help');
  t.throws(() => parseTrainGPTArgs(['--steps', '0'], 'cpu'), { message: '--steps needs an integer >= 1, got 0' });
  t.throws(() => parseTrainGPTArgs(['--n-head', '3'], 'cpu'), { message: '--n-embd (128) must be divisible by --n-head (3)' });
  t.throws(() => parseTrainGPTArgs(['--device', 'tpu'], 'cpu'), { message: '--device needs cpu or cuda, got tpu' });
  t.throws(() => parseTrainGPTArgs(['--tokenizer', 'bpe'], 'cpu'), { message: '--tokenizer needs char or gpt2, got bpe' });
  t.throws(() => parseTrainGPTArgs(['--lr'], 'cpu'), { message: '--lr needs a value' });
  t.throws(() => parseTrainGPTArgs(['--bogus'], 'cpu'), { message: "unknown option '--bogus'" });
});

t.test('a tiny GPT learns: the loss falls over 50 steps; same seed, bitwise-identical losses', async (t) => {
  const a = await trainGPT(args('--steps', '50', '--eval-interval', '25', '--out', path.join(tmp, 'a')), quiet);
  const b = await trainGPT(args('--steps', '50', '--eval-interval', '25', '--out', path.join(tmp, 'b')), quiet);
  t.equal(a.losses.length, 50);
  const first = a.losses.slice(0, 5).reduce((x, y) => x + y) / 5;
  const last = a.losses.slice(-5).reduce((x, y) => x + y) / 5;
  t.ok(first > 3.5 && last < first - 0.8, `training loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
  t.ok(a.valLoss < 3.3, `validation loss ${a.valLoss.toFixed(3)}`);
  t.same(Float32Array.from(b.losses), Float32Array.from(a.losses), 'two runs: bitwise-identical losses');
  t.equal(b.valLoss, a.valLoss);
  t.ok(bytes(path.join(tmp, 'a'), 'model.safetensors').equals(bytes(path.join(tmp, 'b'), 'model.safetensors')), 'identical weights');
  const c = await trainGPT(args('--steps', '50', '--eval-interval', '25', '--seed', '7', '--out', path.join(tmp, 'c')), quiet);
  t.notSame(c.losses, a.losses, 'another seed, other losses');
});

t.test('checkpoint then --resume equals the uninterrupted run (dropout on), other configs refused', async (t) => {
  const common = ['--steps', '40', '--eval-interval', '15', '--dropout', '0.1'];
  const whole = await trainGPT(args(...common, '--out', path.join(tmp, 'whole')), quiet);
  const cut = path.join(tmp, 'cut');
  const part = await trainGPT({ ...args(...common, '--out', cut), stopAfter: 15 }, quiet);
  t.equal(part.steps, 15, 'interrupted after the checkpoint at step 15');
  const resumed = await trainGPT(args('--out', cut, '--resume'), quiet);
  t.same(Float32Array.from(resumed.losses), Float32Array.from(whole.losses), 'the same 40 losses bit for bit');
  t.equal(resumed.valLoss, whole.valLoss);
  t.ok(bytes(cut, 'model.safetensors').equals(bytes(path.join(tmp, 'whole'), 'model.safetensors')), 'the same final weights');
  t.same(resumed.evals, whole.evals, 'the same validation history');
  await t.rejects(trainGPT(args('--out', cut, '--resume', '--n-layer', '3'), quiet), {
    message: `--resume: ${path.join(cut, 'checkpoint.safetensors')} was made with --n-layer 2, not 3 (a checkpoint of another configuration)`,
  });
  await t.rejects(trainGPT(args('--out', path.join(tmp, 'none'), '--resume'), quiet), { message: /--resume: .*checkpoint\.safetensors does not exist/ });
  // A model of another configuration cannot take the checkpoint's weights.
  const { model } = loadGPT(cut);
  const other = new cg.models.GPT({ ...model.config, nEmbd: 16 });
  t.throws(() => other.loadStateDict(model.stateDict()), /the state dict is for another configuration/);
  model.dispose();
  other.dispose();
});

t.test('CLI: generate streams deterministic greedy text equal to the API; finetune classify; LM fine-tuning', async (t) => {
  const dir = path.join(tmp, 'a');
  const cli = path.join(process.env.CUDAGRAD_TEST_PKG || path.join(root, 'dist'), 'cli.js');
  const gen = (...more: string[]) => spawnSync(process.execPath, [cli, 'generate', '--checkpoint', dir, '--prompt', 'ROMEO:', '--max-tokens', '40', ...more], { encoding: 'utf8' });
  const g1 = gen('--temperature', '0');
  t.equal(g1.status, 0, 'generate exits 0', { stderr: g1.stderr });
  t.equal(gen('--temperature', '0').stdout, g1.stdout, 'greedy decoding is deterministic');
  t.equal(gen('--temperature', '0', '--no-kv-cache').stdout, g1.stdout, 'the same text without the KV cache');
  t.match(g1.stderr, /\[40 tokens in [\d.]+ s: [\d.]+ tokens\/s, KV cache, cpu\]/);
  const { model, tokenizer } = loadGPT(dir);
  const ids = model.generate(tokenizer.encode('ROMEO:'), { maxNewTokens: 40, temperature: 0 });
  t.equal(g1.stdout, 'ROMEO:' + tokenizer.decode(ids) + '\n', 'the CLI prints the API generation');
  const s1 = gen('--seed', '3', '--top-p', '0.9');
  t.equal(gen('--seed', '3', '--top-p', '0.9').stdout, s1.stdout, 'a seed repeats a sample');
  t.match(gen('--prompt', 'ROMEO: ~').stderr, /--prompt: .*character "~"/, 'a prompt outside the vocabulary');
  t.match(gen('--top-p', '2').stderr, /--top-p needs a number in \(0, 1\], got 2/);
  t.match(spawnSync(process.execPath, [cli, 'generate'], { encoding: 'utf8' }).stderr, /--checkpoint DIR is required/);
  // Classification from the pre-trained model: runs end to end and beats nothing in particular at this size.
  const tsv = path.join(tmp, 'task.tsv');
  fs.writeFileSync(tsv, Array.from({ length: 40 }, (_, i) => (i % 2 ? 'rome\tCitizens of Rome, hear me speak.' : 'love\tO Romeo, Romeo, wherefore art thou?')).join('\n'));
  const f = spawnSync(process.execPath, [cli, 'finetune', 'classify', '--checkpoint', dir, '--data', tsv, '--epochs', '3', '--batch-size', '8', '--lr', '3e-3'], { encoding: 'utf8' });
  t.equal(f.status, 0, 'finetune classify exits 0', { stderr: f.stderr });
  t.match(f.stdout, /test accuracy 100\.0% on 8 examples \(majority class 50\.0%\)/, 'learns a trivially separable task');
  // LM fine-tuning on a new text from the pre-trained folder.
  const more = path.join(tmp, 'more.txt');
  const vocab = new Set(fs.readFileSync(text, 'utf8'));
  fs.writeFileSync(more, Array.from(fs.readFileSync(SHAKESPEARE, 'utf8').slice(500000, 520000)).filter((ch) => vocab.has(ch)).join(''));
  // --init-from takes the size and tokenizer from the folder: no size flags.
  const ftArgs = (...more: string[]) => parseTrainGPTArgs(['--device', 'cpu', '--batch-size', '8', '--lr', '3e-3', '--warmup', '5', '--verbose', '0', '--sample-tokens', '0', ...more], 'cpu') as Exclude<ReturnType<typeof parseTrainGPTArgs>, 'help'>;
  await t.rejects(trainGPT(args('--init-from', dir, '--data', more, '--steps', '2', '--out', path.join(tmp, 'sized')), quiet), {
    message: `--init-from takes the model's size and tokenizer from ${dir}; drop --n-layer, --n-head, --n-embd`,
  });
  const ft = await trainGPT(ftArgs('--init-from', dir, '--data', more, '--steps', '20', '--eval-interval', '10', '--out', path.join(tmp, 'ft')), quiet);
  t.ok(ft.losses[0] < 3.3, `starts from the pre-trained weights (first loss ${ft.losses[0].toFixed(3)})`);
  const bad = path.join(tmp, 'bad.txt');
  fs.writeFileSync(bad, 'naïve text with characters outside the vocabulary ~~~ '.repeat(50));
  await t.rejects(trainGPT(ftArgs('--init-from', dir, '--data', bad, '--steps', '2', '--out', path.join(tmp, 'bad')), quiet), /character "ï" .* is not in the tokenizer's/);
  // savePretrained refuses a tokenizer that does not fit the vocabulary.
  t.throws(() => model.savePretrained(path.join(tmp, 'mismatch'), cg.models.CharTokenizer.fromText('abc')), {
    message: `models.GPT.savePretrained: the tokenizer has 3 tokens but the model's vocabulary is ${model.config.vocabSize}`,
  });
  // A folder whose checkpoint is newer than its model folder files (a later run stopped early) loads the checkpoint.
  const both = path.join(tmp, 'both');
  fs.cpSync(dir, both, { recursive: true });
  fs.cpSync(path.join(tmp, 'c', 'checkpoint.safetensors'), path.join(both, 'checkpoint.safetensors')); // run c: another seed
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(path.join(both, 'checkpoint.safetensors'), later, later);
  // (Compared here, not with t.same: tap's diff of two 30k-number arrays that differ takes minutes.)
  const sameWeights = (a: cg.models.GPT, b: cg.models.GPT) => {
    const pa = a.parameters();
    const pb = b.parameters();
    return pa.length === pb.length && pa.every((p, i) => Buffer.from(p.toArray().buffer).equals(Buffer.from(pb[i].toArray().buffer)));
  };
  const fromBoth = loadGPT(both).model;
  const runC = loadGPT(path.join(tmp, 'c', 'checkpoint.safetensors')).model;
  t.ok(sameWeights(fromBoth, runC), 'the newer checkpoint is loaded');
  t.notOk(sameWeights(fromBoth, model), 'not the older model folder');
  fromBoth.dispose();
  runC.dispose();
  model.dispose();
});
