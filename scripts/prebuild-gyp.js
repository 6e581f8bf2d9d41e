#!/usr/bin/env node
// Stands in for "node-gyp rebuild ..." under prebuildify (see prebuild.js):
// builds the addon with cmake-js in the package root and copies it to
// ./build/Release of the staging folder prebuildify runs in. The node-gyp
// arguments are ignored: the addon uses Node-API 8 only, so one binary serves
// every Node version.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
const r = spawnSync(process.execPath, [cmakeJs, 'compile'], { cwd: root, stdio: 'inherit' });
if (r.error || r.status !== 0) process.exit(r.status || 1);
const out = path.join(process.cwd(), 'build', 'Release');
fs.mkdirSync(out, { recursive: true });
fs.copyFileSync(path.join(root, 'build', 'Release', 'cudagrad.node'), path.join(out, 'cudagrad.node'));
