// `cudagrad train mlp`: option parsing, a short run whose saved model gives the
// reported accuracy, and a run killed (SIGKILL) after its first checkpoint and
// resumed, ending with the same weights and per-epoch history as the
// uninterrupted run; --help and bad options.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';

import * as cg from '../lib/index';
import { parseTrainMlpArgs, trainMlp } from '../lib/train-mlp';
import { root } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-train-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

t.test('train mlp: options, a short run, resume, --help', async (t) => {
  t.same(parseTrainMlpArgs(['--epochs', '3', '--batch-size=64', '--data', 'fashion', '--out', 'o', '--resume']), {
    data: 'fashion', epochs: 3, batchSize: 64, lr: 0.002, seed: 0, resume: true, verbose: 1, out: 'o',
  });
  t.equal(parseTrainMlpArgs(['--help']), 'help');
  t.throws(() => parseTrainMlpArgs(['--epochs', '0']), { message: '--epochs needs an integer >= 1, got 0' });
  t.throws(() => parseTrainMlpArgs(['--resume']), { message: '--resume needs --out DIR (the folder holding checkpoint.safetensors)' });
  t.throws(() => parseTrainMlpArgs(['--device', 'tpu']), { message: '--device needs cpu or cuda, got tpu' });
  t.throws(() => parseTrainMlpArgs(['--bogus']), { message: "unknown option '--bogus'" });
  const lines: string[] = [];
  const log = (s: string) => void lines.push(s);
  const whole = path.join(tmp, 'whole');
  const res = await trainMlp({ data: 'mnist', epochs: 2, batchSize: 64, lr: 0.002, seed: 0, verbose: 0, resume: false, out: whole }, log);
  t.ok(res.accuracy > 0.9, `2 epochs: held-out accuracy ${res.accuracy}`);
  t.match(lines[lines.length - 1], /^held-out accuracy: \d+\.\d\d% \(loss \d\.\d{4}\) after 2 epochs/);
  const m = cg.keras.loadModel(path.join(whole, 'model'));
  const d = cg.data.loadMnist();
  t.equal(m.evaluate(d.test.x, d.test.y, { batchSize: 256 }).accuracy, res.accuracy, 'the saved model gives the reported accuracy');

  // The same run as a process killed (SIGKILL) once its first checkpoint exists, then resumed.
  // The built CLI: dist/, or the compiled lib/ of the GPU machine's bundle.
  const cli = path.join(process.env.CUDAGRAD_TEST_PKG || path.join(root, 'dist'), 'cli.js');
  const crashed = path.join(tmp, 'crashed');
  const args = ['train', 'mlp', '--epochs', '2', '--batch-size', '64', '--verbose', '0', '--out', crashed];
  const ck = path.join(crashed, 'checkpoint.safetensors');
  await new Promise<void>((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: 'ignore' });
    const poll = setInterval(() => {
      if (fs.existsSync(ck)) child.kill('SIGKILL');
    }, 2);
    child.on('exit', () => {
      clearInterval(poll);
      resolve();
    });
  });
  t.ok(fs.existsSync(ck), 'a checkpoint survived the kill');
  t.same(fs.readdirSync(crashed).filter((f) => f.endsWith('.tmp')).length <= 1, true);
  const resumed = spawnSync(process.execPath, [cli, ...args, '--resume'], { encoding: 'utf8' });
  t.equal(resumed.status, 0, 'resumed run', { stderr: resumed.stderr });
  const after = Number(/resuming from .* after epoch (\d)/.exec(resumed.stdout)?.[1]);
  t.ok(after >= 1 && after <= 2, `resumed after epoch ${after}`);
  const bytes = (dir: string, f: string) => fs.readFileSync(path.join(dir, f));
  t.ok(bytes(crashed, 'model/model.safetensors').equals(bytes(whole, 'model/model.safetensors')), 'final weights identical to the uninterrupted run');
  const hist = (dir: string) => cg.io.readSafetensors(path.join(dir, 'checkpoint.safetensors')).metadata['cudagrad.checkpoint'];
  t.same(JSON.parse(hist(crashed)).extra.data.history, JSON.parse(hist(whole)).extra.data.history, 'per-epoch losses and accuracies identical');

  const r = spawnSync(process.execPath, [cli, 'train', 'mlp', '--help'], { encoding: 'utf8' });
  t.equal(r.status, 0);
  t.match(r.stdout, /--data mnist\|fashion\|DIR/);
  const bad = spawnSync(process.execPath, [cli, 'train', 'mlp', '--epochs', 'x'], { encoding: 'utf8' });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /^cudagrad train mlp: --epochs needs an integer >= 1, got x/);
});
