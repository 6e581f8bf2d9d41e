#!/usr/bin/env node
// Prints the C++ sources of the CPU-only addon for binding.gyp (the same
// folders CMakeLists.txt globs, with the CUDA stub instead of the kernels).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const dirs = ['bindings', 'native/runtime', 'native/dispatch', 'native/cpu'];
const files = dirs.flatMap((d) =>
  fs.readdirSync(path.join(root, d)).filter((f) => f.endsWith('.cpp')).sort().map((f) => `${d}/${f}`),
);
files.push('native/cuda/stub.cpp');
console.log(files.join('\n'));
