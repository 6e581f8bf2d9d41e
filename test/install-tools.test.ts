// The install step's build-tool check (scripts/build-tools.js), with stub
// commands on PATH: a missing tool is installed with apt-get (update, then
// install of the Debian package) when no password is needed; nothing happens
// when every tool is present or with CUDAGRAD_NO_APT=1. Run as a child process
// so that the stubs, not the real apt-get, answer.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { root } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cudagrad-tools-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
const bin = path.join(tmp, 'bin');
fs.mkdirSync(bin);
const calls = path.join(tmp, 'apt-calls.txt');
const stub = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
stub('apt-get', `[ "$1" = --version ] && exit 0; echo "$*" >> ${JSON.stringify(calls)}; exit 0`);
stub('sudo', 'shift; exec "$@"'); // as `sudo -n cmd ...` when not root

function check(missing: string[], env: Record<string, string> = {}) {
  for (const tool of ['c++', 'make', 'python3', 'cmake']) stub(tool, missing.includes(tool) ? 'exit 127' : 'exit 0');
  fs.rmSync(calls, { force: true });
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(root, 'scripts', 'build-tools.js'))}).installBuildTools((m) => console.log('cudagrad: ' + m))`], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:/usr/bin:/bin`, CUDAGRAD_NO_APT: '', ...env },
  });
  return { out: `${r.stdout}${r.stderr}`, status: r.status, apt: fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n') : [] };
}

t.test('missing tools are installed with apt-get; present ones are not touched', async (t) => {
  if (process.platform !== 'linux') {
    t.skip('apt-get is for Debian-like Linux only', () => {});
    return;
  }
  const r = check(['cmake', 'c++']);
  t.equal(r.status, 0);
  t.match(r.out, 'cudagrad: installing missing build tools with apt-get: g++ cmake (CUDAGRAD_NO_APT=1 skips this)');
  t.same(r.apt, ['update -qq', 'install -y -qq --no-install-recommends g++ cmake']);
  t.same(check([]).apt, [], 'every tool present: apt-get not called');
  const off = check(['cmake'], { CUDAGRAD_NO_APT: '1' });
  t.same(off.apt, [], 'CUDAGRAD_NO_APT=1: apt-get not called');
  t.equal(off.out, '');
});
