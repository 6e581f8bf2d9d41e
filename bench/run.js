#!/usr/bin/env node
// CPU kernel benchmarks: cudagrad against NumPy (OpenBLAS) and PyTorch (CPU),
// all on the same number of threads (BENCH_THREADS, default 2), in one run.
// Writes bench/results/cpu-<date>.json (or $OUT/cpu-<date>.json) and prints a
// table. Usage: npm run bench [-- --filter <substring>]
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const cg = require('../dist');
const { timeIt } = require('./timing');

const threads = Number(process.env.BENCH_THREADS || 2);
const filterAt = process.argv.indexOf('--filter');
const filter = filterAt > 0 ? process.argv[filterAt + 1] : '';
cg.setNumThreads(threads);

const families = fs.readdirSync(path.join(__dirname, 'cases')).filter((f) => f.endsWith('.js')).sort();
const cases = families.flatMap((f) => require(path.join(__dirname, 'cases', f))(cg)).filter((c) => c.id.includes(filter));

const results = [];
for (const c of cases) {
  const seconds = timeIt(c.run);
  results.push({ id: c.id, family: c.family, params: c.params, flops: c.flops, bytes: c.bytes, cudagrad_s: seconds });
  console.error(`  cudagrad ${c.id}: ${(seconds * 1e3).toFixed(3)} ms`);
}

// Peers, in one Python process with OpenMP spinning off and the CPU-type overrides removed.
const peerEnv = { ...process.env, OMP_WAIT_POLICY: 'passive', OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), BENCH_THREADS: String(threads) };
delete peerEnv.OPENBLAS_CORETYPE;
delete peerEnv.OPENBLAS_L2_SIZE;
const withPeer = cases.filter((c) => c.peer);
let peers = {};
if (withPeer.length) {
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, 'peers', 'run.py')], {
    input: JSON.stringify(withPeer.map((c) => ({ id: c.id, family: c.family, peer: c.peer, params: c.params }))),
    encoding: 'utf8',
    env: peerEnv,
    stdio: ['pipe', 'pipe', 'inherit'],
    maxBuffer: 1 << 26,
  });
  if (r.status === 0) peers = JSON.parse(r.stdout);
  else console.error(`bench: peers failed (exit ${r.status}); reporting cudagrad only`);
}

const rate = (r, s) => (r.flops ? r.flops / s / 1e9 : r.bytes / s / 1e9);
for (const r of results) {
  const p = peers[r.id] || {};
  r.unit = r.flops ? 'GFLOP/s' : 'GB/s';
  r.cudagrad_rate = rate(r, r.cudagrad_s);
  for (const lib of ['numpy', 'torch']) {
    if (p[lib] === undefined) continue;
    r[`${lib}_s`] = p[lib];
    r[`${lib}_rate`] = rate(r, p[lib]);
    r[`vs_${lib}`] = p[lib] / r.cudagrad_s; // > 1: cudagrad faster
  }
}

const cpu = cg.devices()[0];
const date = new Date().toISOString().slice(0, 10);
const report = {
  date,
  command: `npm run bench${filter ? ` -- --filter ${filter}` : ''}`,
  machine: { cpu: cpu.name, simd: cpu.simd, threads, cores: os.cpus().length, node: process.version },
  results,
};
const outDir = process.env.OUT || path.join(__dirname, 'results');
fs.mkdirSync(outDir, { recursive: true });
// A filtered run is a working measurement: it goes to an ignored last-<filter>.json.
const file = path.join(outDir, filter ? `last-${filter.replace(/[^A-Za-z0-9_.-]/g, '_')}.json` : `cpu-${date}.json`);
fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

const fmt = (v, d = 1) => (v === undefined ? '-' : v.toFixed(d));
console.log(`\n${'case'.padEnd(28)} ${'unit'.padEnd(8)} ${'cudagrad'.padStart(9)} ${'numpy'.padStart(9)} ${'torch'.padStart(9)} ${'x numpy'.padStart(8)} ${'x torch'.padStart(8)}`);
for (const r of results) {
  console.log(
    `${r.id.padEnd(28)} ${r.unit.padEnd(8)} ${fmt(r.cudagrad_rate).padStart(9)} ${fmt(r.numpy_rate).padStart(9)} ${fmt(r.torch_rate).padStart(9)} ${fmt(r.vs_numpy, 2).padStart(8)} ${fmt(r.vs_torch, 2).padStart(8)}`,
  );
}
console.log(`\nwrote ${path.relative(process.cwd(), file)} (x > 1: cudagrad faster; ${threads} threads, SIMD ${cpu.simd})`);
