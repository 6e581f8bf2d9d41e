#!/usr/bin/env node
// Builds the SIMT-emulator addon into build-emu/ (CUDA kernels compiled as C++
// and run on fibers over an emulated sm_90 runtime), for the CUDA-path tests
// on machines without a GPU. Incremental after the first build.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build-emu', '--CDCUDAGRAD_EMULATE_CUDA=ON'], {
  cwd: root,
  encoding: 'utf8',
  maxBuffer: 1 << 26,
});
if (r.error || r.status !== 0) {
  console.error(`${r.stdout || ''}${r.stderr || ''}`.split('\n').filter((l) => /error|Error/.test(l)).slice(0, 40).join('\n'));
  console.error('cudagrad: building the SIMT emulator addon (build-emu/) failed');
  process.exit(r.status || 1);
}
