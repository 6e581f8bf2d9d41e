#!/usr/bin/env node
// The package's install step. In order:
//  1. a matching prebuilt binary under prebuilds/ (node-gyp-build) -> use it;
//  2. building from source: on a Debian-like system where a build tool is
//     missing (a C++ compiler, make, Python 3, CMake), install it with apt-get
//     when that needs no password (root, or sudo -n), saying so; set
//     CUDAGRAD_NO_APT=1 to skip;
//  3. CMake and cmake-js present -> build with cmake-js (CUDA when nvcc is found);
//  4. otherwise -> build the CPU-only addon with node-gyp from binding.gyp, saying so.
// CUDAGRAD_BUILD_FROM_SOURCE=1 skips step 1.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const { has, installBuildTools } = require('./build-tools');

const root = path.join(__dirname, '..');
const log = (msg) => console.log(`cudagrad: ${msg}`);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status || 1);
}

function prebuilt() {
  if (process.env.CUDAGRAD_BUILD_FROM_SOURCE === '1') return null;
  try {
    const file = require('node-gyp-build').path(root);
    if (!file.includes(`${path.sep}prebuilds${path.sep}`)) return null; // build/ output: rebuild from source
    require(file); // must load on this machine
    return file;
  } catch {
    return null;
  }
}

function resolve(id) {
  try {
    return require.resolve(id, { paths: [root] });
  } catch {
    return null;
  }
}

const file = prebuilt();
if (file) {
  log(`using prebuilt binary ${path.relative(root, file)}`);
  process.exit(0);
}

installBuildTools(log);
const cmakeJs = resolve('cmake-js/bin/cmake-js');
if (has('cmake', ['--version']) && cmakeJs) {
  log('building the addon with cmake-js (CUDA kernels included when nvcc is found)');
  run(process.execPath, [cmakeJs, 'compile']);
  process.exit(0);
}

const why = cmakeJs ? 'CMake was not found' : 'cmake-js is not installed';
log(`${why}: building the CPU-only addon with node-gyp from binding.gyp (no CUDA). ` +
  'Install CMake (and the CUDA toolkit), then reinstall, for CUDA support.');
const nodeGyp = process.env.npm_config_node_gyp || resolve('node-gyp/bin/node-gyp.js');
if (!nodeGyp) {
  console.error('cudagrad: node-gyp was not found either; cannot build the addon');
  process.exit(1);
}
run(process.execPath, [nodeGyp, 'rebuild', '-j', 'max']);
