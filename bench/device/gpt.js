#!/usr/bin/env node
// GPT-2 124M training throughput on the GPU, for bench/device-check.sh:
// cudagrad's training step (random tokens, forward, cross-entropy, backward,
// clip 1.0, fused AdamW; bf16 autocast for the matmuls and attention with
// float32 master weights) next to a nanoGPT-style PyTorch model on the same
// GPU (bench/device/gpt_torch.py: bf16 autocast, scaled_dot_product_attention,
// fused AdamW, then torch.compile if it works within its time). Tokens/s and
// model FLOPs utilisation (nanoGPT's estimate: 6N + 12 L H Q T FLOPs per token,
// N without the position embedding) against the bf16 dense peak of an H200
// (989 TFLOP/s, CUDAGRAD_PEAK_TFLOPS overrides). The vocabulary is padded to
// 50304 as nanoGPT and llm.c do. Then one step with a device wait around each
// native call: the GPU time per op. Writes $OUT/gpt.json.
// DEVICE_CHECK_SMALL=1 (the emulated dry run): a 1-layer, 64-wide model.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const { timeNativeCalls, formatNativeCalls } = require('../common');

const pkg = process.env.CUDAGRAD_TEST_PKG || path.join(__dirname, '..', '..', 'dist');
const cg = require(pkg);
const out = process.env.OUT || path.join(__dirname, '..', 'results');
const small = process.env.DEVICE_CHECK_SMALL === '1';
const cfg = small
  ? { vocabSize: 512, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 64, batch: 2, warmup: 1, steps: 2 }
  : { vocabSize: 50304, blockSize: 1024, nLayer: 12, nHead: 12, nEmbd: 768, batch: 16, warmup: 3, steps: 10 };
const peak = Number(process.env.CUDAGRAD_PEAK_TFLOPS || 989) * 1e12;
const tokensPerStep = cfg.batch * cfg.blockSize;

function flopsPerToken(nParams) {
  const { nLayer: L, nHead: H, nEmbd: C, blockSize: T } = cfg;
  return 6 * (nParams - T * C) + 12 * L * H * (C / H) * T;
}

function cudagradRun() {
  const dev = 'cuda';
  cg.manualSeed(1337);
  const { batch: B, blockSize: T, vocabSize: V } = cfg;
  const m = new cg.models.GPT({ vocabSize: V, blockSize: T, nLayer: cfg.nLayer, nHead: cfg.nHead, nEmbd: cfg.nEmbd, device: dev });
  const { GPTAdamW } = require(path.join(path.dirname(require.resolve(pkg)), 'models', 'gpt', 'train'));
  const opt = new GPTAdamW(m.parameters(), { lr: 6e-4, beta2: 0.95, weightDecay: 0.1, globalClipNorm: 1 });
  // Random tokens (xorshift32), four batches cycled: throughput does not depend on the text.
  const tokens = (s) => {
    const a = new Int32Array(B * (T + 1));
    let x = 2463534242 + s;
    for (let i = 0; i < a.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      a[i] = (x >>> 0) % V;
    }
    const idx = new Int32Array(B * T);
    const tgt = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      idx.set(a.subarray(b * (T + 1), b * (T + 1) + T), b * T);
      tgt.set(a.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T);
    }
    return [cg.tensor(idx, { dtype: 'int32', shape: [B, T], device: dev }), cg.tensor(tgt, { dtype: 'int32', shape: [B, T], device: dev })];
  };
  const data = [0, 1, 2, 3].map(tokens);
  const losses = [];
  const step = (s) =>
    cg.tidy(() => {
      const [x, y] = data[s % data.length];
      // The whole forward and backward in bf16 mixed precision (the backward's GEMMs too), as torch.autocast.
      const loss = cg.autocast(() => {
        const l = m.forward(x, y).loss;
        l.backward();
        return l;
      });
      opt.step();
      opt.zeroGrad();
      return loss;
    });
  for (let s = 0; s < cfg.warmup; s++) losses.push(step(s));
  cg.cuda.synchronize();
  const t0 = process.hrtime.bigint();
  for (let s = 0; s < cfg.steps; s++) losses.push(step(cfg.warmup + s));
  cg.cuda.synchronize();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const nParams = m.numParameters();
  const r = { params: nParams, step_ms: (1000 * seconds) / cfg.steps, tokens_per_s: (tokensPerStep * cfg.steps) / seconds, losses: losses.map((l) => l.item()) };
  losses.forEach((l) => l.dispose());
  // One more step with a device wait around every native call: where the GPU time goes, per op
  // (the waits add ~10-20 us a call; the timed steps above have none).
  const { native } = require(path.join(path.dirname(require.resolve(pkg)), 'native'));
  try {
    r.profile = timeNativeCalls(native, 1, () => step(cfg.warmup + cfg.steps).dispose(), () => cg.cuda.synchronize());
  } catch (e) {
    r.profile_error = String((e && e.stack) || e);
  }
  return r;
}

const report = { date: new Date().toISOString(), config: cfg, peak_tflops: peak / 1e12, device: cg.devices().find((d) => d.type === 'cuda') };
try {
  report.cudagrad = cudagradRun();
  report.cudagrad.mfu = (report.cudagrad.tokens_per_s * flopsPerToken(report.cudagrad.params)) / peak;
  console.log(`  cudagrad GPT ${cfg.nLayer}x${cfg.nEmbd}, B=${cfg.batch} T=${cfg.blockSize}: ${report.cudagrad.step_ms.toFixed(1)} ms/step, ${Math.round(report.cudagrad.tokens_per_s)} tokens/s, MFU ${(100 * report.cudagrad.mfu).toFixed(1)}%`);
  const prof = report.cudagrad.profile;
  if (prof) {
    console.log(`  one step with a device wait around each native call (${prof.ms_per_step.toFixed(1)} ms):`);
    for (const line of formatNativeCalls(prof).slice(0, 16)) console.log(`    ${line}`);
  } else console.log(`  per-op profile failed: ${report.cudagrad.profile_error.split('\n')[0]}`);
} catch (e) {
  report.cudagrad = { error: String((e && e.stack) || e) };
  console.log(`  cudagrad GPT failed: ${report.cudagrad.error.split('\n')[0]}`);
}

// PyTorch: one JSON line per variant (eager, then compiled); whatever arrived before the timeout counts.
const py = spawnSync('python3', [path.join(__dirname, 'gpt_torch.py')], {
  input: JSON.stringify(cfg),
  encoding: 'utf8',
  stdio: ['pipe', 'pipe', 'inherit'],
  timeout: Number(process.env.DEVICE_CHECK_TORCH_GPT_S || 150) * 1000,
  env: { ...process.env, PYTHONUNBUFFERED: '1' },
});
report.torch = {};
for (const line of (py.stdout || '').split('\n')) {
  if (!line.startsWith('{')) continue;
  const r = JSON.parse(line);
  r.mfu = (r.tokens_per_s * flopsPerToken(r.params)) / peak;
  report.torch[r.variant] = r;
  console.log(`  torch ${r.variant}: ${r.step_ms.toFixed(1)} ms/step, ${Math.round(r.tokens_per_s)} tokens/s, MFU ${(100 * r.mfu).toFixed(1)}%`);
}
if (py.status !== 0) console.log(`  torch GPT peer: exit ${py.status}${py.signal ? ` (${py.signal})` : ''}`);
const best = Object.values(report.torch).reduce((a, r) => Math.max(a, r.tokens_per_s), 0);
if (best && report.cudagrad.tokens_per_s) report.vs_best_torch = report.cudagrad.tokens_per_s / best;
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'gpt.json'), `${JSON.stringify(report, null, 2)}\n`);
process.exitCode = report.cudagrad.error ? 1 : 0;
