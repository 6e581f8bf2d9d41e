// Runs the native unit tests (test/native/*.cpp, built by CMake next to the
// addon) and reports each of their TAP lines as an assertion.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { root } from './helpers';

// The regular build's binary, and the SIMT emulator build's (which adds the emulator's own tests).
const bins = [path.join(root, 'build', 'tests', 'cudagrad_native_test'), path.join(root, 'build-emu', 'tests', 'cudagrad_native_test')];

for (const bin of bins) t.test(`native unit tests: ${path.relative(root, bin)}`, async (t) => {
  if (!fs.existsSync(bin)) {
    t.fail(`${bin} is missing: npm install builds build/, npm test's pretest builds build-emu/`);
    return;
  }
  const r = spawnSync(bin, [], { encoding: 'utf8', timeout: 300_000 });
  const lines = r.stdout.split('\n');
  const results = lines.filter((l) => /^(not )?ok \d+ - /.test(l));
  const plan = /^1\.\.(\d+)$/m.exec(r.stdout);
  t.ok(plan, 'the binary printed a plan');
  t.equal(results.length, Number(plan?.[1]), 'every planned test reported');
  for (const line of results) {
    const detail = lines[lines.indexOf(line) + 1]?.trim().startsWith('#') ? lines[lines.indexOf(line) + 1].trim() : '';
    t.ok(line.startsWith('ok'), `${line.replace(/^(not )?ok \d+ - /, '')} ${detail}`);
  }
  t.equal(r.status, 0, `exit status (stderr: ${r.stderr})`);
});

t.test('the emulator build stops a misaligned float4 load (a planted bug)', async (t) => {
  const bin = bins[1];
  if (!fs.existsSync(bin)) {
    t.fail(`${bin} is missing: npm test's pretest builds build-emu/`);
    return;
  }
  const r = spawnSync(bin, ['planted_misaligned_float4_load'], { encoding: 'utf8', timeout: 60_000 });
  t.not(r.status, 0, 'the process fails');
  t.match(r.stderr, /misaligned address .* for type 'const (struct )?float4'/, 'the sanitizer names the misaligned float4 load');
  t.notMatch(r.stdout, /^ok /m, 'the test did not pass');
});
