#!/usr/bin/env node
// GPT training and generation throughput, cudagrad vs PyTorch 1.13 CPU
// (bench/peers/train_gpt.py: nanoGPT's model.py and train.py step), on
// BENCH_THREADS threads (default 2), runs interleaved (cudagrad, torch, ...)
// so that a busy machine slows both alike; ratios are medians of paired runs.
//   train: tokens/s of the full step (batch gather, forward, loss, backward,
//          clip 1.0, AdamW, loss readout) for the `cudagrad train gpt` CPU
//          default (3 layers, 4 heads, 128 wide, block 128, batch 16) and
//          nanoGPT's shakespeare_char size (6, 6, 384, block 256, batch 64),
//          dropout 0 in both (torch 1.13 has no fused attention: nanoGPT's
//          masked T x T path)
//   generate: tokens/s of sampling N tokens from one start token (batch 1)
//          at the default size: cudagrad with and without the KV cache,
//          nanoGPT's generate() (no cache)
// Writes bench/results/train-gpt-<date>.json (or $OUT/...) and prints a table.
// Usage: node bench/train-gpt.js [--repeats N (default 3)] [--configs default,shakespeare_char] [--gen-tokens N (default 256)]
'use strict';
const os = require('node:os');
const path = require('node:path');

const cg = require('../dist');
const { opt, median, startPeer, writeReport } = require('./common');
const { GPTAdamW } = require('../dist/models/gpt/train');
const { batchOffsets, makeBatch, loadText, SHAKESPEARE } = require('../dist/models/gpt/data');

const threads = Number(process.env.BENCH_THREADS || 2);
const repeats = Number(opt('repeats', 3));
const genTokens = Number(opt('gen-tokens', 256));
const CONFIGS = {
  default: { nLayer: 3, nHead: 4, nEmbd: 128, blockSize: 128, batch: 16, steps: 20 },
  shakespeare_char: { nLayer: 6, nHead: 6, nEmbd: 384, blockSize: 256, batch: 64, steps: 2 },
};
const configs = opt('configs', 'default,shakespeare_char').split(',');
cg.setNumThreads(threads);
cg.setDefaultDevice('cpu');
const data = loadText(SHAKESPEARE);

function measure(tokens, fn) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  fn();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return [tokens / wall, tokens / ((c.user + c.system) / 1e6)];
}

// cudagrad's training step, exactly as `cudagrad train gpt` runs it (loss read every step here, as the peer).
function trainer(c) {
  cg.manualSeed(1337);
  const m = new cg.models.GPT({ vocabSize: data.tokenizer.vocabSize, blockSize: c.blockSize, nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd });
  const adam = new GPTAdamW(m.parameters(), { lr: 1e-3, beta2: 0.99, weightDecay: 0.1, globalClipNorm: 1 });
  let step = 0;
  const run = (steps) => {
    for (let i = 0; i < steps; i++, step++) {
      const offs = batchOffsets(1337, step, c.batch, data.train.length, c.blockSize);
      cg.tidy(() => {
        const { x, y } = makeBatch(data.train, offs, c.blockSize);
        const loss = m.forward(x, y).loss;
        loss.backward();
        adam.step();
        adam.zeroGrad();
        return loss.item();
      });
    }
  };
  run(1); // warm-up
  return (steps) => measure(steps * c.batch * c.blockSize, () => run(steps));
}

const torchPeer = () => startPeer(path.join(__dirname, 'peers', 'train_gpt.py'), [SHAKESPEARE], threads);

(async () => {
  const peer = torchPeer();
  const train = [];
  let generation = null;
  try {
    for (const name of configs) {
      const c = CONFIGS[name];
      const run = trainer(c);
      const r = { cudagrad: [], torch: [], cudagrad_cpu: [], torch_cpu: [] };
      const cmd = `train ${c.nLayer} ${c.nHead} ${c.nEmbd} ${c.blockSize} ${c.batch} ${c.steps}`;
      for (let i = 0; i < repeats; i++) {
        for (const [who, f] of [['cudagrad', () => run(c.steps)], ['torch', () => peer.ask(cmd)]]) {
          const [wall, cpu] = await f();
          r[who].push(wall);
          r[`${who}_cpu`].push(cpu);
        }
        console.error(`  ${name} repeat ${i + 1}: cudagrad ${r.cudagrad[i].toFixed(0)}, torch ${r.torch[i].toFixed(0)} tokens/s`);
      }
      const ratio = (a, b) => median(a.map((v, i) => v / b[i]));
      train.push({
        config: name,
        ...c,
        cudagrad_tokens_per_s: median(r.cudagrad),
        torch_tokens_per_s: median(r.torch),
        cudagrad_vs_torch: ratio(r.cudagrad, r.torch),
        per_cpu_second: { cudagrad: median(r.cudagrad_cpu), torch: median(r.torch_cpu), cudagrad_vs_torch: ratio(r.cudagrad_cpu, r.torch_cpu) },
        runs: r,
      });
    }
    // Generation at the default size (speed does not depend on the weights).
    const c = CONFIGS.default;
    cg.manualSeed(1);
    const m = new cg.models.GPT({ vocabSize: data.tokenizer.vocabSize, blockSize: c.blockSize, nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd });
    m.generate([0], { maxNewTokens: 8 });
    const g = { kv: [], nokv: [], torch: [] };
    for (let i = 0; i < repeats; i++) {
      g.kv.push(measure(genTokens, () => m.generate([0], { maxNewTokens: genTokens, temperature: 0.8, seed: i }))[0]);
      g.nokv.push(measure(genTokens, () => m.generate([0], { maxNewTokens: genTokens, temperature: 0.8, seed: i, kvCache: false }))[0]);
      g.torch.push((await peer.ask(`generate ${c.nLayer} ${c.nHead} ${c.nEmbd} ${c.blockSize} ${genTokens}`))[0]);
      console.error(`  generate repeat ${i + 1}: KV cache ${g.kv[i].toFixed(0)}, no cache ${g.nokv[i].toFixed(0)}, torch ${g.torch[i].toFixed(0)} tokens/s`);
    }
    m.dispose();
    generation = { config: 'default', tokens: genTokens, cudagrad_kv_cache: median(g.kv), cudagrad_no_cache: median(g.nokv), torch_no_cache: median(g.torch), runs: g };
  } finally {
    peer.close();
  }
  const file = writeReport('train-gpt', cg, threads, {
    step: 'batch gather (random char windows of tiny Shakespeare), forward, cross-entropy, backward, clip 1.0, AdamW (decay on 2-D weights), loss readout',
    repeats,
    peer: 'PyTorch 1.13 (/usr/bin/python3, torch.set_num_threads, OMP_WAIT_POLICY=passive, OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset), nanoGPT model.py without flash attention',
    train,
    generation,
  });
  console.log('config            cudagrad tok/s  torch tok/s  ratio  (per CPU-second ratio)');
  for (const r of train)
    console.log(`${r.config.padEnd(17)} ${r.cudagrad_tokens_per_s.toFixed(0).padStart(14)}  ${r.torch_tokens_per_s.toFixed(0).padStart(11)}  ${r.cudagrad_vs_torch.toFixed(2).padStart(5)}  (${r.per_cpu_second.cudagrad_vs_torch.toFixed(2)})`);
  if (generation)
    console.log(`generate ${genTokens} tokens: KV cache ${generation.cudagrad_kv_cache.toFixed(0)}, no cache ${generation.cudagrad_no_cache.toFixed(0)}, torch nanoGPT ${generation.torch_no_cache.toFixed(0)} tokens/s`);
  console.log(`load average at the end: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
})();
