#!/usr/bin/env node
// Where a training step spends its time on the CPU: wraps every function of
// the native addon with a wall-clock timer (CPU ops run synchronously, so a
// call's time is its kernel's), runs a training step and prints the native
// calls by total time, plus the rest (JS, autograd, allocation) as "outside
// native calls". JSON to stdout with --json. Steps:
//   gpt: bench/train-gpt.js's step (--config default|shakespeare_char)
//   mlp: bench/train-mlp.js's hand-written loop step (common.js's mlpLoop; --batch N)
// Usage: node bench/profile-step.js [--model gpt|mlp] [--config NAME] [--batch N] [--steps N] [--json]
'use strict';
const cg = require('../dist');
const { native } = require('../dist/native');
const { GPTAdamW } = require('../dist/models/gpt/train');
const { batchOffsets, makeBatch, loadText, SHAKESPEARE } = require('../dist/models/gpt/data');

const { opt, mlpLoop } = require('./common');
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

const stats = new Map();
for (const key of Object.keys(native)) {
  const f = native[key];
  if (typeof f !== 'function') continue;
  native[key] = function (...args) {
    const t0 = process.hrtime.bigint();
    try {
      return f.apply(this, args);
    } finally {
      const s = stats.get(key) ?? { calls: 0, ns: 0n };
      s.calls++;
      s.ns += process.hrtime.bigint() - t0;
      stats.set(key, s);
    }
  };
}
const t0 = process.hrtime.bigint();
for (let s = 1; s <= steps; s++) step(s);
const total = Number(process.hrtime.bigint() - t0) / 1e6 / steps;
const rows = [...stats].map(([k, s]) => ({ fn: k, calls_per_step: s.calls / steps, ms_per_step: Number(s.ns) / 1e6 / steps })).sort((a, b) => b.ms_per_step - a.ms_per_step);
const inNative = rows.reduce((a, r) => a + r.ms_per_step, 0);
const out = { ...what, steps, threads: cg.getNumThreads(), ms_per_step: total, items_per_s: (tokens * 1000) / total, outside_native_ms: total - inNative, ops: rows };
if (process.argv.includes('--json')) console.log(JSON.stringify(out, null, 2));
else {
  console.log(`${JSON.stringify(what)}: ${total.toFixed(2)} ms/step, ${Math.round(out.items_per_s)} ${model === 'gpt' ? 'tokens' : 'samples'}/s, ${cg.getNumThreads()} threads`);
  for (const r of rows.filter((r) => r.ms_per_step >= total / 500)) console.log(`${r.fn.padEnd(28)} ${r.ms_per_step.toFixed(3).padStart(9)} ms ${((100 * r.ms_per_step) / total).toFixed(1).padStart(5)}%  ${r.calls_per_step} calls`);
  console.log(`${'outside native calls'.padEnd(28)} ${out.outside_native_ms.toFixed(3).padStart(9)} ms ${((100 * out.outside_native_ms) / total).toFixed(1).padStart(5)}%`);
}
