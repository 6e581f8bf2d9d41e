// Packaging: `npm run prebuild` makes prebuilds/linux-x64/*.node; the packed
// tarball, installed into an empty project with install scripts disabled,
// works from require, import and the CLI on the prebuilt binary alone.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { root } from './helpers';

function sh(cmd: string, args: string[], cwd: string) {
  // The installed package must load its own prebuilt binary, whatever CUDAGRAD_ADDON says here.
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_loglevel: 'error' };
  delete env.CUDAGRAD_ADDON;
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 600_000, env });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

const SMOKE_CJS = `
const cg = require('cudagrad');
const path = require('node:path');
const binary = require('node-gyp-build').path(path.dirname(require.resolve('cudagrad/package.json')));
const a = cg.tensor([[1, 2], [3, 4]]);
const r = cg.rand([4], { seed: 0 }).toArray();
const want = [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8].map((w) => (w >>> 8) / 2 ** 24);
a.dispose();
console.log(JSON.stringify({
  binary,
  sum: Array.from(cg.arange(5).toArray()).reduce((s, v) => s + v, 0),
  randOk: r.every((v, i) => v === want[i]),
  live: cg.memory().numTensors,
  device: cg.defaultDevice(),
  cudaCompiled: cg.cuda.compiled(),
}));
`;

const SMOKE_MJS = `
import cg, { tensor, Tensor } from 'cudagrad';
const t = tensor([1, 2, 3], { dtype: 'int32' });
console.log(t instanceof Tensor && cg.tensor === tensor ? 'esm ok ' + Array.from(t.toArray()).join(',') : 'esm broken');
`;

t.test('prebuilt binary in a packed tarball works with install scripts off', async (t) => {
  // The prebuild lands in the checkout (the tarball takes it from there); remove it afterwards, or
  // a later `npm install` here would load it instead of building the current sources.
  const prebuilds = path.join(root, 'prebuilds');
  if (!fs.existsSync(prebuilds)) t.teardown(() => fs.rmSync(prebuilds, { recursive: true, force: true }));
  const pre = sh('npm', ['run', 'prebuild'], root);
  t.equal(pre.status, 0, 'npm run prebuild', { output: pre.out.slice(-3000) });
  const built = fs.readdirSync(path.join(root, 'prebuilds', 'linux-x64')).filter((f) => f.endsWith('.node'));
  t.ok(built.length >= 1, `prebuilds/linux-x64 has ${built.join(', ')}`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cudagrad-pack-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  // dist/ is current (pretest built it); --ignore-scripts keeps prepare from rewriting it under other tests.
  const pack = sh('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp, '--silent'], root);
  t.equal(pack.status, 0, 'npm pack', { output: pack.out.slice(-3000) });
  const tgz = fs.readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  t.ok(tgz, 'tarball made');
  if (!tgz) return;

  const app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  const inst = sh('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', path.join(tmp, tgz)], app);
  t.equal(inst.status, 0, 'npm install --ignore-scripts', { output: inst.out.slice(-3000) });

  const pkg = path.join(app, 'node_modules', 'cudagrad');
  t.notOk(fs.existsSync(path.join(pkg, 'build')), 'no build/ folder: nothing was compiled');
  t.ok(fs.existsSync(path.join(pkg, 'dist', 'index.d.ts')), 'type declarations shipped');

  fs.writeFileSync(path.join(app, 'smoke.cjs'), SMOKE_CJS);
  const cjs = sh(process.execPath, ['smoke.cjs'], app);
  t.equal(cjs.status, 0, 'require() smoke script', { output: cjs.out });
  const res = JSON.parse(cjs.out.trim().split('\n').pop() ?? '{}');
  t.match(res.binary, /node_modules\/cudagrad\/prebuilds\/linux-x64\/[^/]+\.node$/, 'loaded the prebuilt binary');
  t.equal(res.sum, 10);
  t.equal(res.randOk, true, 'Philox values from the prebuilt binary');
  t.equal(res.live, 2, 'memory() counts the two live tensors');

  fs.writeFileSync(path.join(app, 'smoke.mjs'), SMOKE_MJS);
  const esm = sh(process.execPath, ['smoke.mjs'], app);
  t.equal(esm.status, 0, 'import smoke script', { output: esm.out });
  t.equal(esm.out.trim(), 'esm ok 1,2,3');

  const cli = sh(path.join(app, 'node_modules', '.bin', 'cudagrad'), ['demo'], app);
  t.equal(cli.status, 0, 'cudagrad demo from node_modules/.bin', { output: cli.out });
  t.match(cli.out, /all checks passed/, 'demo checks pass');
});
