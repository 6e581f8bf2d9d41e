#!/usr/bin/env node
// Training throughput of the reference DNN (784-128-10, ReLU, softmax fused
// into sparse cross-entropy, Adam lr 1e-3) on the 8,000 shipped MNIST training
// digits, in samples per second, at batch 32 and 256: cudagrad's keras fit
// (verbose 0, accuracy metric on), cudagrad's nn/optim loop (the same step
// written by hand), and PyTorch 1.13 CPU doing the same per-step work
// (bench/peers/train_mlp.py), all on BENCH_THREADS threads (default 2),
// interleaved run by run.
// Writes bench/results/train-mlp-<date>.json (or $OUT/...) and prints a table.
// Usage: node bench/train-mlp.js [--epochs N (per run, default 3)] [--repeats N (default 5)] [--batches 32,256]
'use strict';
const os = require('node:os');
const path = require('node:path');

const cg = require('../dist');
const { opt, median, startPeer, writeReport, mlpLoop } = require('./common');

const threads = Number(process.env.BENCH_THREADS || 2);
const epochs = Number(opt('epochs', 3));
const repeats = Number(opt('repeats', 5));
const batches = opt('batches', '32,256').split(',').map(Number);
cg.setNumThreads(threads);

const dataDir = cg.data.shippedMnistDir();
const { train } = cg.data.loadMnist();
const n = train.x.shape[0];

function model() {
  const k = cg.keras;
  return k.sequential([k.dense({ units: 128, activation: 'relu', inputShape: [784], kernelInitializer: 'torch' }), k.dense({ units: 10, activation: 'softmax', kernelInitializer: 'torch' })]);
}

// [samples per second of wall time, samples per CPU-second (all threads)] since (t0, c0).
function rates(epochs, t0, c0) {
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return [(epochs * n) / wall, (epochs * n) / ((c.user + c.system) / 1e6)];
}

// keras fit: returns run(epochs) -> [wall, cpu] samples/s, after a warm-up epoch.
async function fitRunner(bs) {
  cg.manualSeed(0);
  const m = model();
  m.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  await m.fit(train.x, train.y, { epochs: 1, batchSize: bs, verbose: 0 });
  return async (e) => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await m.fit(train.x, train.y, { epochs: e, batchSize: bs, verbose: 0 });
    return rates(e, t0, c0);
  };
}

// The same step with nn.Linear and optim.Adam, batches gathered by an embedding lookup.
function loopRunner(bs) {
  const step = mlpLoop(cg, train);
  const runEpoch = () => {
    const perm = cg.tidy(() => cg.rand([n]).toArray());
    const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => perm[a] - perm[b]);
    for (let s = 0; s < n; s += bs) step(order.subarray(s, Math.min(n, s + bs)));
  };
  runEpoch();
  return async (e) => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < e; i++) runEpoch();
    return rates(e, t0, c0);
  };
}

// The PyTorch peer as a server: ask(bs, epochs) -> samples/s.
const torchPeer = () => startPeer(path.join(__dirname, 'peers', 'train_mlp.py'), [dataDir], threads);

(async () => {
  // Runs interleaved (cudagrad fit, torch, cudagrad loop) per repeat, so that a
  // busy machine slows all three alike; the ratios are medians of paired runs.
  const peer = torchPeer();
  const results = [];
  try {
    for (const bs of batches) {
      const fit = await fitRunner(bs);
      const loop = loopRunner(bs);
      const r = { batch: bs, fit: [], loop: [], torch: [], fit_cpu: [], loop_cpu: [], torch_cpu: [] };
      for (let i = 0; i < repeats; i++) {
        for (const [name, run] of [['fit', fit], ['torch', (e) => peer.ask(`${bs} ${e}`)], ['loop', loop]]) {
          const [wall, cpu] = await run(epochs);
          r[name].push(wall);
          r[`${name}_cpu`].push(cpu);
        }
        console.error(`  batch ${bs} repeat ${i + 1}: fit ${r.fit[i].toFixed(0)}, torch ${r.torch[i].toFixed(0)}, loop ${r.loop[i].toFixed(0)} samples/s`);
      }
      const ratio = (a, b) => median(a.map((v, i) => v / b[i]));
      results.push({
        batch: bs,
        cudagrad_fit_sps: median(r.fit),
        cudagrad_loop_sps: median(r.loop),
        torch_sps: median(r.torch),
        fit_vs_torch: ratio(r.fit, r.torch),
        loop_vs_torch: ratio(r.loop, r.torch),
        per_cpu_second: { cudagrad_fit: median(r.fit_cpu), cudagrad_loop: median(r.loop_cpu), torch: median(r.torch_cpu), fit_vs_torch: ratio(r.fit_cpu, r.torch_cpu) },
        runs: r,
      });
    }
  } finally {
    peer.close();
  }
  const file = writeReport('train-mlp', cg, threads, {
    model: '784-128-10 MLP, ReLU, sparse cross-entropy on logits, Adam lr 1e-3; 8,000 MNIST digits; per step: shuffled gather, forward, backward, Adam, loss.item(), accuracy',
    epochs,
    repeats,
    peer: 'PyTorch (/usr/bin/python3, torch.set_num_threads, OMP_WAIT_POLICY=passive, OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset)',
    results,
  });
  console.log('batch  cudagrad fit  cudagrad loop  torch      fit/torch  loop/torch  (samples/s)');
  for (const r of results)
    console.log(
      `${String(r.batch).padEnd(6)} ${r.cudagrad_fit_sps.toFixed(0).padStart(12)}  ${r.cudagrad_loop_sps.toFixed(0).padStart(13)}  ${(r.torch_sps ?? NaN).toFixed(0).padStart(8)}  ${(r.fit_vs_torch ?? NaN).toFixed(2).padStart(9)}  ${(r.loop_vs_torch ?? NaN).toFixed(2).padStart(10)}`,
    );
  for (const r of results)
    console.log(`batch ${r.batch} per CPU-second: cudagrad fit ${r.per_cpu_second.cudagrad_fit.toFixed(0)}, torch ${r.per_cpu_second.torch.toFixed(0)} (${r.per_cpu_second.fit_vs_torch.toFixed(2)}x)`);
  console.log(`load average at the end: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
})();
