// Where CMake is missing, the install step builds the CPU-only addon with
// node-gyp from binding.gyp (saying so), and that addon works. Runs the real
// install script through npm in a copy of the sources, with a `cmake` on PATH
// that fails as a missing one would.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { oracleUniform, root } from './helpers';

t.test('npm install step without CMake builds a working CPU-only addon', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cudagrad-gyp-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const src = path.join(tmp, 'src');
  fs.mkdirSync(src);
  for (const f of ['package.json', 'binding.gyp', 'bindings', 'native', 'scripts'])
    fs.cpSync(path.join(root, f), path.join(src, f), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(src, 'node_modules'));
  const bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'cmake'), '#!/bin/sh\necho "cmake: command not found" >&2\nexit 127\n', { mode: 0o755 });

  const r = spawnSync('npm', ['run', 'install'], {
    cwd: src,
    encoding: 'utf8',
    timeout: 900_000,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, CUDAGRAD_NO_APT: '1' }, // a missing CMake must not be installed here
  });
  const out = `${r.stdout}${r.stderr}`;
  t.equal(r.status, 0, 'install step succeeded', { output: out.slice(-4000) });
  t.match(out, 'cudagrad: CMake was not found: building the CPU-only addon with node-gyp from binding.gyp (no CUDA)');

  const addon = path.join(src, 'build', 'Release', 'cudagrad.node');
  t.ok(fs.existsSync(addon), 'build/Release/cudagrad.node made by node-gyp');
  const check = spawnSync(process.execPath, ['-e', `
    const b = require(${JSON.stringify(addon)});
    let cudaError = '';
    try { b.full([1], 'float32', 0, 'cuda'); } catch (e) { cudaError = e.message; }
    console.log(JSON.stringify({ status: b.cudaStatus(), rand: Array.from(b.uniform([9], 77n, 0, 1, 'cpu').toArray()), cudaError }));
  `], { encoding: 'utf8' });
  t.equal(check.status, 0, 'the node-gyp addon loads', { output: check.stderr });
  const res = JSON.parse(check.stdout);
  t.equal(res.status.compiled, false);
  t.equal(res.status.available, false);
  t.match(res.status.reason, 'built without CUDA');
  t.same(res.rand, oracleUniform(77n, 0n, 9), 'CPU kernels give the Philox values');
  t.match(res.cudaError, 'cudagrad.full: CUDA is not available: cudagrad was built without CUDA');
});
