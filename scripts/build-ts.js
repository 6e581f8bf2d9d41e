#!/usr/bin/env node
// Compiles lib/ to dist/ (CommonJS + type declarations) and marks the CLI executable.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
const r = spawnSync(process.execPath, [tsc, '-p', root], { cwd: root, stdio: 'inherit' });
if (r.error || r.status !== 0) process.exit(r.status || 1);
fs.chmodSync(path.join(root, 'dist', 'cli.js'), 0o755);
