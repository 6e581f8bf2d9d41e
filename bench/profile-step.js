#!/usr/bin/env node
// Where a training step spends its time on the CPU: wraps every function of
// the native addon with a wall-clock timer (CPU ops run synchronously, so a
// call's time is its kernel's), runs a training step and prints the native
// calls by total time, plus the rest (JS, autograd, allocation) as "outside
// native calls". JSON to stdout with --json. Steps:
//   gpt: bench/train-gpt.js's step (--config default|shakespeare_char)
//   mlp: bench/train-mlp.js's hand-written loop step (common.js's mlpLoop; --batch N)
// With --by-shape, then times the same steps again with only the linear layers'
// native calls (linear, linearBackward) timed, per shape (M tokens, K in, N out): best
// and median GFLOP/s over the calls (forward 2MKN flops, backward 4MKN: dx and dweight),
// ms per step. The best is what a call gets when nothing else is running.
// Usage: node bench/profile-step.js [--model gpt|mlp] [--config NAME] [--batch N] [--steps N] [--json] [--by-shape]
'use strict';
const cg = require('../dist');
const { native } = require('../dist/native');
const { GPTAdamW } = require('../dist/models/gpt/train');
const { batchOffsets, makeBatch, loadText, SHAKESPEARE } = require('../dist/models/gpt/data');

const { opt, mlpLoop, timeNativeCalls, formatNativeCalls } = require('./common');
const threads = Number(process.env.BENCH_THREADS || 2);
cg.setNumThreads(threads);
cg.setDefaultDevice('cpu');
const model = opt('model', 'gpt');
const steps = Number(opt('steps', model === 'gpt' ? 2 : 200));

function gptStep() {
  const CONFIGS = {
    default: { nLayer: 3, nHead: 4, nEmbd: 128, blockSize: 128, batch: 16 },
    shakespeare_char: { nLayer: 6, nHead: 6, nEmbd: 384, blockSize: 256, batch: 64 },
  };
  const name = opt('config', 'shakespeare_char');
  const c = CONFIGS[name];
  if (!c) throw new Error(`--config must be one of ${Object.keys(CONFIGS).join(', ')}`);
  const data = loadText(SHAKESPEARE);
  cg.manualSeed(1337);
  const m = new cg.models.GPT({ vocabSize: data.tokenizer.vocabSize, blockSize: c.blockSize, nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd });
  const adam = new GPTAdamW(m.parameters(), { lr: 1e-3, beta2: 0.99, weightDecay: 0.1, globalClipNorm: 1 });
  const step = (s) =>
    cg.tidy(() => {
      const { x, y } = makeBatch(data.train, batchOffsets(1337, s, c.batch, data.train.length, c.blockSize), c.blockSize);
      const loss = m.forward(x, y).loss;
      loss.backward();
      adam.step();
      adam.zeroGrad();
      return loss.item();
    });
  return { what: { model, config: name, ...c }, tokens: c.batch * c.blockSize, step };
}

function mlpStep() {
  const bs = Number(opt('batch', 256));
  const { train } = cg.data.loadMnist();
  const n = train.x.shape[0];
  const loop = mlpLoop(cg, train);
  const step = (s) => loop(Int32Array.from({ length: bs }, (_, i) => (s * bs + i) % n)).loss;
  return { what: { model, batch: bs }, tokens: bs, step };
}

const models = { gpt: gptStep, mlp: mlpStep };
if (!models[model]) throw new Error(`--model must be one of ${Object.keys(models).join(', ')}`);
const { what, tokens, step } = models[model]();
step(0); // warm-up: allocator caches, optimizer state

const prof = timeNativeCalls(native, steps, (n) => {
  for (let s = 1; s <= n; s++) step(s);
});
const out = { ...what, steps, threads: cg.getNumThreads(), ms_per_step: prof.ms_per_step, items_per_s: (tokens * 1000) / prof.ms_per_step, outside_native_ms: prof.outside_native_ms, ops: prof.ops };
if (process.argv.includes('--by-shape')) out.linear_by_shape = linearByShape();
if (process.argv.includes('--json')) console.log(JSON.stringify(out, null, 2));
else {
  console.log(`${JSON.stringify(what)}: ${prof.ms_per_step.toFixed(2)} ms/step, ${Math.round(out.items_per_s)} ${model === 'gpt' ? 'tokens' : 'samples'}/s, ${cg.getNumThreads()} threads`);
  for (const line of formatNativeCalls(prof)) console.log(line);
  if (out.linear_by_shape) {
    console.log(`linear layers by shape (${steps} more steps; GFLOP/s: fwd 2MKN, bwd 4MKN):`);
    for (const r of out.linear_by_shape)
      console.log(`  ${r.call.padEnd(5)} M ${String(r.M).padStart(6)} K ${String(r.K).padStart(5)} N ${String(r.N).padStart(5)}  best ${r.best_gflops.toFixed(0).padStart(4)}  median ${r.median_gflops.toFixed(0).padStart(4)}  ${r.ms_per_step.toFixed(3).padStart(8)} ms/step  ${r.calls_per_step} calls`);
  }
}

// Per-shape times of the linear layers' native calls over `steps` more steps.
function linearByShape() {
  const stats = new Map();
  const saved = {};
  const time = (name, call, flopsPerMKN) => {
    const f = (saved[name] = native[name]);
    native[name] = function (...args) {
      const t0 = process.hrtime.bigint();
      const r = f.apply(this, args);
      const ns = Number(process.hrtime.bigint() - t0);
      const x = args[call === 'fwd' ? 0 : 1].shape(), w = args[call === 'fwd' ? 1 : 2].shape(); // x (..., K), weight (N, K)
      const M = x.slice(0, -1).reduce((a, b) => a * b, 1);
      const key = `${call} ${M} ${w[1]} ${w[0]}`;
      if (!stats.has(key)) stats.set(key, { call, M, K: w[1], N: w[0], flops: flopsPerMKN * M * w[0] * w[1], ns: [] });
      stats.get(key).ns.push(ns);
      return r;
    };
  };
  time('linear', 'fwd', 2);
  time('linearBackward', 'bwd', 4);
  try {
    for (let s = steps + 1; s <= 2 * steps; s++) step(s);
  } finally {
    Object.assign(native, saved);
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return [...stats.values()]
    .sort((a, b) => (a.call === b.call ? b.flops - a.flops : a.call < b.call ? 1 : -1))
    .map((r) => ({
      call: r.call,
      M: r.M,
      K: r.K,
      N: r.N,
      best_gflops: r.flops / Math.min(...r.ns),
      median_gflops: r.flops / med(r.ns),
      ms_per_step: r.ns.reduce((a, b) => a + b, 0) / steps / 1e6,
      calls_per_step: r.ns.length / steps,
    }));
}
