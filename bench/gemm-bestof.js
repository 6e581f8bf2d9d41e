#!/usr/bin/env node
// GEMM cases on a shared, loaded machine: alternates rounds of cudagrad and of
// its peers (NumPy on OpenBLAS, torch; same thread count, same environment as
// bench/run.js), each timing every case for --seconds (default 0.7), and
// reports the BEST GFLOP/s each library reached over all rounds (the closest a
// loaded machine gets to quiet-machine numbers; bench/run.js reports medians
// of one pass). The cases are bench/cases/gemm.js's whose id contains
// --filter (default sgemm_: the square products), the peers bench/peers/gemm.py's.
// Usage: node bench/gemm-bestof.js [rounds = 20] [--filter S] [--seconds T] [--no-peers]
//   (after node scripts/build-ts.js)
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const cg = require('../dist');

const opt = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const rounds = Number(process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 20);
const filter = opt('filter', 'sgemm_');
const seconds = Number(opt('seconds', 0.7));
const peers = !process.argv.includes('--no-peers');
const threads = Number(process.env.BENCH_THREADS || 2);
cg.setNumThreads(threads);

const cases = require('./cases/gemm')(cg).filter((c) => c.id.includes(filter));
if (!cases.length) throw new Error(`no case id contains ${filter}`);

const py = `
import json, sys, time, torch
sys.path.insert(0, ${JSON.stringify(path.join(__dirname, 'peers'))})
import gemm
torch.set_num_threads(${threads}); torch.set_grad_enabled(False)
out = {"numpy": {}, "torch": {}}
for c in json.load(sys.stdin):
    for lib in ("numpy", "torch"):
        f = gemm.make(lib, c["peer"], c["params"])
        f(); best = 1e9; t1 = time.time()
        while time.time() - t1 < ${seconds}:
            t0 = time.perf_counter(); f(); best = min(best, time.perf_counter() - t0)
        out[lib][c["id"]] = c["flops"] / best / 1e9
print(json.dumps(out))
`;
const env = { ...process.env, OMP_WAIT_POLICY: 'passive', OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
delete env.OPENBLAS_CORETYPE;
delete env.OPENBLAS_L2_SIZE;
const peerInput = JSON.stringify(cases.map((c) => ({ id: c.id, peer: c.peer, params: c.params, flops: c.flops })));

const best = { cudagrad: {}, numpy: {}, torch: {} };
const keep = (lib, id, v) => (best[lib][id] = Math.max(best[lib][id] || 0, v));
for (let r = 0; r < rounds; r++) {
  for (const c of cases) {
    c.run();
    let t = Infinity;
    for (const t1 = Date.now(); Date.now() - t1 < seconds * 1000; ) {
      const t0 = process.hrtime.bigint();
      c.run();
      t = Math.min(t, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    keep('cudagrad', c.id, c.flops / t / 1e9);
  }
  if (peers) {
    const p = spawnSync('/usr/bin/python3', ['-c', py], { input: peerInput, encoding: 'utf8', env });
    if (p.status !== 0) throw new Error(`peers failed: ${p.stderr}`);
    const d = JSON.parse(p.stdout);
    for (const lib of ['numpy', 'torch']) for (const [id, v] of Object.entries(d[lib])) keep(lib, id, v);
  }
  console.error(`round ${r + 1}/${rounds}: load ${require('node:os').loadavg()[0].toFixed(2)}`);
}
console.log(`best of ${rounds} interleaved rounds, ${threads} threads, GFLOP/s`);
const w = Math.max(...cases.map((c) => c.id.length));
for (const { id } of cases) {
  const c = best.cudagrad[id];
  if (!peers) {
    console.log(`${id.padEnd(w)}: cudagrad ${c.toFixed(1)}`);
    continue;
  }
  const [np, th] = [best.numpy[id], best.torch[id]];
  console.log(`${id.padEnd(w)}: cudagrad ${c.toFixed(1)}  numpy ${np.toFixed(1)}  torch ${th.toFixed(1)}  x numpy ${(c / np).toFixed(2)}  x torch ${(c / th).toFixed(2)}`);
}
