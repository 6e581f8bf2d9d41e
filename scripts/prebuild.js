#!/usr/bin/env node
// `npm run prebuild`: prebuilds/linux-x64/cudagrad.node via prebuildify.
// prebuildify always runs "node-gyp rebuild" and then *moves* build/Release/*.node
// out of its working folder. So it runs in a staging folder, and its --node-gyp
// command (prebuild-gyp.js) builds with cmake-js in the package root (CUDA when
// nvcc is found) and copies the addon into the staging folder; the package's own
// build/Release stays in place for the tests.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const stage = path.join(root, 'build', 'prebuild-stage');
fs.rmSync(stage, { recursive: true, force: true });
fs.mkdirSync(stage, { recursive: true });
const prebuildify = require.resolve('prebuildify/bin.js', { paths: [root] });
const r = spawnSync(
  process.execPath,
  [prebuildify, '--napi', '--name', 'cudagrad', '--cwd', stage, '--out', root, '--node-gyp', path.join(__dirname, 'prebuild-gyp.js')],
  { cwd: root, stdio: 'inherit' },
);
fs.rmSync(stage, { recursive: true, force: true });
process.exit(r.error ? 1 : r.status);
