// Step 2 of the install script (scripts/install.js): on a Debian-like system,
// the build tools that are missing (a C++ compiler, make, Python 3, CMake) are
// installed with apt-get when that needs no password (root, or sudo -n).
// CUDAGRAD_NO_APT=1 skips it. Tested by test/install-tools.test.ts with stub
// commands on PATH.
'use strict';
const { spawnSync } = require('node:child_process');

/** Whether `cmd args` runs and exits 0. */
function has(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

// Debian packages for the build tools that are missing (tool -> package).
function installBuildTools(log) {
  if (process.env.CUDAGRAD_NO_APT === '1' || process.platform !== 'linux' || !has('apt-get', ['--version'])) return;
  const tools = [['c++', ['--version'], 'g++'], ['make', ['--version'], 'make'], ['python3', ['--version'], 'python3'], ['cmake', ['--version'], 'cmake']];
  const missing = tools.filter(([cmd, args]) => !has(cmd, args)).map(([, , pkg]) => pkg);
  if (!missing.length) return;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudo = root ? [] : has('sudo', ['-n', 'true']) ? ['sudo', '-n'] : null;
  if (!sudo) {
    log(`missing build tools (${missing.join(', ')}); install them with: sudo apt-get install -y ${missing.join(' ')}`);
    return;
  }
  log(`installing missing build tools with apt-get: ${missing.join(' ')} (CUDAGRAD_NO_APT=1 skips this)`);
  const apt = (args) => spawnSync(sudo[0] ?? 'apt-get', sudo.length ? ['-n', 'apt-get', ...args] : args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  const u = apt(['update', '-qq']);
  const i = u.status === 0 ? apt(['install', '-y', '-qq', '--no-install-recommends', ...missing]) : u;
  if (i.error || i.status !== 0) log(`apt-get could not install ${missing.join(' ')}; carrying on with what is there`);
}

module.exports = { has, installBuildTools };
