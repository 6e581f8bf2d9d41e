#!/usr/bin/env node
// Second half of `npm test`: the device-level test files again, with the SIMT
// emulator addon (build-emu/) loaded, so every CUDA-path test runs: the
// 'cuda' device is the emulated sm_90 part. The default device stays the CPU;
// tests ask for 'cuda' explicitly. Blocks and threads run in a shuffled order
// (CUDAGRAD_EMU_SCHEDULE, default here 'shuffle'), not the natural one in which
// a missing barrier or a cross-block dependency often goes unseen.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const addon = path.join(root, 'build-emu', 'Release', 'cudagrad.node');
if (!fs.existsSync(addon)) {
  console.error(`cudagrad: ${addon} is missing (npm test builds it in pretest: node scripts/build-emu.js)`);
  process.exit(1);
}
// Packaging and build checks concern the real addon only.
const skip = new Set(['package.test.ts', 'gyp-fallback.test.ts', 'build.test.ts', 'native.test.ts', 'device-check.test.ts']);
const files = fs.readdirSync(path.join(root, 'test')).filter((f) => f.endsWith('.test.ts') && !skip.has(f)).sort();
console.log(`# SIMT emulator run: ${files.length} test files with CUDAGRAD_ADDON=build-emu/Release/cudagrad.node, schedule ${process.env.CUDAGRAD_EMU_SCHEDULE || 'shuffle'}`);
const tap = path.join(root, 'node_modules', '.bin', 'tap');
const r = spawnSync(tap, files.map((f) => `test/${f}`), {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, CUDAGRAD_ADDON: addon, CUDAGRAD_DEVICE: 'cpu', CUDAGRAD_EMU_SCHEDULE: process.env.CUDAGRAD_EMU_SCHEDULE || 'shuffle' },
});
process.exit(r.error ? 1 : r.status);
