#!/usr/bin/env node
// GPU kernel benchmarks for bench/device-check.sh: each cudagrad CUDA op timed
// from Node (launch loop, then one synchronize: throughput including dispatch),
// next to the same op in PyTorch on the same GPU (bench/device/torch_bench.py,
// CUDA events, median), and a device-to-device copy as the bandwidth ceiling.
// Ops without a CUDA kernel yet are listed as missing. The bf16 GEMM is timed
// once more on the sm_90a wgmma kernel, in a child process with
// CUDAGRAD_GEMM_WGMMA=1 (read once per process): rows gemm_bf16_wgmma_<n>,
// next to the same torch.matmul bf16 peer. Writes $OUT/bench.json.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const cg = require(process.env.CUDAGRAD_TEST_PKG || path.join(__dirname, '..', '..', 'dist'));
const out = process.env.OUT || path.join(__dirname, '..', 'results');
const small = process.env.DEVICE_CHECK_SMALL === '1'; // emulator dry runs: tiny sizes
const wgmmaChild = process.env.BENCH_WGMMA === '1'; // the child run: only the wgmma GEMM rows
const dev = 'cuda';

function timeOp(fn, minSeconds = 0.3) {
  for (let i = 0; i < 3; i++) cg.tidy(fn);
  cg.cuda.synchronize();
  let reps = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) cg.tidy(fn);
    cg.cuda.synchronize();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (s >= minSeconds || reps >= 1 << 16) return s / reps;
    reps *= Math.max(2, Math.ceil(minSeconds / Math.max(s, 1e-6)));
  }
}

const M = small ? 1 << 12 : 1 << 26; // elements for memory-bound cases
const cases = [
  { id: 'gelu_fwd', bytes: 8 * M, shape: [M], torch: 'gelu_fwd', make: (x) => () => cg.gelu(x) },
  { id: 'relu_fwd', bytes: 8 * M, shape: [M], torch: 'relu_fwd', make: (x) => () => cg.relu(x) },
];
if (typeof cg.softmax === 'function') {
  const [r, c] = small ? [64, 256] : [16384, 4096];
  cases.push({ id: 'softmax_fwd', bytes: 8 * r * c, shape: [r, c], torch: 'softmax_fwd', make: (x) => () => cg.softmax(x) });
}
if (typeof cg.layerNorm === 'function') {
  const [r, c] = small ? [64, 256] : [16384, 4096];
  cases.push({
    id: 'layernorm_fwd',
    bytes: 8 * r * c,
    shape: [r, c],
    torch: 'layernorm_fwd',
    make: (x) => {
      const w = cg.ones([c], { device: dev });
      const b = cg.zeros([c], { device: dev });
      return () => cg.layerNorm(x, w, b);
    },
  });
}
// --- normalisation family: backward passes, cross-entropy at the GPT-2 vocabulary (fwd + bwd),
// an AdamW step on 100M parameters, the GPT-2 token embedding (fwd + bwd). Bytes: what each op
// must move at least (reads + writes of the full tensors).
if (typeof cg.crossEntropy === 'function') {
  const req = (m) => require(path.join(path.dirname(require.resolve(process.env.CUDAGRAD_TEST_PKG || path.join(__dirname, '..', '..', 'dist'))), 'ops', m));
  const { softmaxBackward } = req('softmax');
  const { layerNormForward, layerNormBackward } = req('layernorm');
  const { crossEntropyBackward } = req('loss');
  const { embeddingBackward } = req('embedding');
  const [r, c] = small ? [64, 256] : [16384, 4096];
  const [N, V] = small ? [64, 1000] : [8192, 50257]; // B * T tokens, GPT-2 vocabulary
  const E = small ? 64 : 768; // GPT-2 small width
  const P = small ? 1 << 12 : 100_000_000; // AdamW parameters
  // GPT-2 124M's parameter shapes (vocabulary padded to 50304), layer by layer; tiny when small.
  const [gV, gT, gC, gL] = small ? [64, 16, 32, 2] : [50304, 1024, 768, 12];
  const block = [[gC], [gC], [3 * gC, gC], [3 * gC], [gC, gC], [gC], [gC], [gC], [4 * gC, gC], [4 * gC], [gC, 4 * gC], [gC]];
  const gpt2Shapes = [[gV, gC], [gT, gC], ...Array.from({ length: gL }, () => block).flat(), [gC], [gC]];
  const targets = () => cg.tensor(Int32Array.from({ length: N }, (_, i) => (i * 7919) % V), { device: dev });
  cases.push(
    {
      id: 'softmax_bwd',
      bytes: 12 * r * c,
      shape: [r, c],
      torch: 'softmax_bwd',
      make: (x) => {
        const y = cg.softmax(x);
        return () => softmaxBackward(x, y);
      },
    },
    {
      id: 'layernorm_bwd',
      bytes: 12 * r * c,
      shape: [r, c],
      torch: 'layernorm_bwd',
      make: (x) => {
        const w = cg.ones([c], { device: dev });
        const f = layerNormForward(x, w, null);
        return () => layerNormBackward(x, x, w, f.mean, f.rstd);
      },
    },
    {
      id: 'crossentropy_fwd',
      bytes: 4 * N * V,
      shape: [N, V],
      torch: 'crossentropy_fwd',
      make: (x) => {
        const t = targets();
        return () => cg.crossEntropy(x, t);
      },
    },
    {
      id: 'crossentropy_bwd',
      bytes: 8 * N * V,
      shape: [N, V],
      torch: 'crossentropy_bwd',
      make: (x) => {
        const t = targets();
        return () => crossEntropyBackward(1, x, t);
      },
    },
    {
      // What a training step runs: the loss's forward writes the gradient for dloss = 1 in the
      // same pass (read the logits once, write dlogits once), which backward() then takes.
      id: 'crossentropy_fwdbwd',
      bytes: 8 * N * V,
      shape: [N, V],
      torch: 'crossentropy_fwdbwd',
      make: (x) => {
        const t = targets();
        x.requiresGrad = true;
        return () => {
          x.grad?.dispose();
          x.grad = null;
          cg.crossEntropy(x, t).backward();
        };
      },
    },
    {
      id: 'adamw_step',
      bytes: 28 * P,
      shape: [P],
      torch: 'adamw_step',
      make: (x) => {
        const g = cg.randn([P], { device: dev, seed: 2, std: 1e-2 });
        const m = cg.zeros([P], { device: dev });
        const v = cg.zeros([P], { device: dev });
        let k = 0;
        return () => cg.adamwStep(x, g, m, v, { step: ++k, lr: 1e-4 });
      },
    },
    {
      // What a GPT-2 124M step's optimizer runs: optim.AdamW with globalClipNorm 1 over its 148
      // parameters (one multi-tensor update, the clip fused in: 32 bytes a parameter), vs torch's
      // clip_grad_norm_ then fused AdamW. `shape` carries the parameter shapes.
      id: 'adamw_clip_gpt2',
      bytes: 32 * gpt2Shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0),
      shape: gpt2Shapes,
      torch: 'adamw_clip_list',
      noInput: true,
      make: () => {
        const ps = gpt2Shapes.map((s, i) => cg.randn(s, { device: dev, seed: 20 + i, requiresGrad: true }));
        ps.forEach((p, i) => (p.grad = cg.randn(p.shape, { device: dev, seed: 200 + i, std: 0.1 })));
        const opt = new cg.optim.AdamW(ps, { lr: 1e-4, globalClipNorm: 1 });
        return () => opt.step();
      },
    },
    {
      id: 'embedding_fwd',
      bytes: 8 * N * E,
      shape: [V, E],
      torch: 'embedding_fwd',
      make: (w) => {
        const t = targets();
        return () => cg.embedding(t, w);
      },
    },
    {
      id: 'embedding_bwd',
      bytes: 12 * N * E + 4 * V * E,
      shape: [N, E],
      torch: 'embedding_bwd',
      make: (d) => {
        const t = targets();
        return () => embeddingBackward(d, t, V);
      },
    },
  );
}
// Runs fn at a matmul precision, restoring the previous one; atPrecision makes a timed case of it.
const withPrecision = (prec, fn) => {
  const before = cg.getMatmulPrecision();
  cg.setMatmulPrecision(prec);
  try {
    return fn();
  } finally {
    cg.setMatmulPrecision(before);
  }
};
const atPrecision = (prec, body) => () => void withPrecision(prec, body);
// GEMM at each precision: float32 SIMT ('highest'), TF32 tensor cores ('high'), bf16 tensor cores
// ('medium'; cudagrad reads float32 and rounds while staging, torch multiplies bf16 tensors).
const wgmmaCases = [];
if (typeof cg.matmul === 'function') {
  for (const n of small ? [64] : [4096, 8192]) {
    for (const [prec, tag] of [['highest', 'fp32'], ['high', 'tf32'], ['medium', 'bf16']])
      cases.push({ id: `gemm_${tag}_${n}`, flops: 2 * n ** 3, shape: [n, n], torch: `matmul_${tag}`, make: (x) => atPrecision(prec, () => cg.matmul(x, x)) });
    // peer: the torch row it shares (timed once)
    wgmmaCases.push({ id: `gemm_bf16_wgmma_${n}`, flops: 2 * n ** 3, shape: [n, n], torch: 'matmul_bf16', peer: `gemm_bf16_${n}`, make: (x) => atPrecision('medium', () => cg.matmul(x, x)) });
  }
}
// Elementwise, reductions, shape ops (native/cuda/{elementwise,reduce,shape}.cu): same-shape add,
// bias add over (B*T, C), sums over the last axis (rows) and the first (bias gradients), and the
// attention permute (B, T, H, D) -> (B, H, T, D).
{
  const [r, c] = small ? [64, 256] : [65536, 1024];
  const [sr, sc] = small ? [64, 256] : [16384, 4096];
  const bthd = small ? [2, 16, 4, 32] : [64, 1024, 16, 64];
  const other = (shape) => cg.randn(shape, { device: dev, seed: 2 });
  cases.push(
    { id: 'add_fwd', bytes: 12 * M, shape: [M], torch: 'add_fwd', make: (x) => ((y) => () => cg.add(x, y))(other([M])) },
    { id: 'bias_add_fwd', bytes: 8 * r * c, shape: [r, c], torch: 'bias_add_fwd', make: (x) => ((b) => () => cg.add(x, b))(other([c])) },
    { id: 'sum_last_fwd', bytes: 4 * sr * sc, shape: [sr, sc], torch: 'sum_last_fwd', make: (x) => () => cg.sum(x, -1) },
    { id: 'sum_first_fwd', bytes: 4 * r * c, shape: [r, c], torch: 'sum_first_fwd', make: (x) => () => cg.sum(x, 0) },
    { id: 'permute_bthd', bytes: 8 * bthd.reduce((a, b) => a * b), shape: bthd, torch: 'permute_bthd', make: (x) => () => cg.permute(x, [0, 2, 1, 3]) },
    // bfloat16 storage: the casts (4 + 2 bytes per element) and a bf16 permute (2 + 2).
    { id: 'cast_f32_bf16', bytes: 6 * M, shape: [M], torch: 'cast_f32_bf16', make: (x) => () => cg.cast(x, 'bfloat16') },
    { id: 'cast_bf16_f32', bytes: 6 * M, shape: [M], torch: 'cast_bf16_f32', make: (x) => ((h) => () => cg.cast(h, 'float32'))(cg.cast(x, 'bfloat16')) },
    { id: 'permute_bthd_bf16', bytes: 4 * bthd.reduce((a, b) => a * b), shape: bthd, torch: 'permute_bthd_bf16', make: (x) => ((h) => () => cg.permute(h, [0, 2, 1, 3]))(cg.cast(x, 'bfloat16')) },
  );
}

// --- attention (fused flash kernels): causal, B=8 H=12 T=1024 D=64, at float32 ('highest') and bf16 tensor
// cores ('medium'; cudagrad stores float32 and converts in the kernel, torch runs bf16 tensors), and on
// bf16 tensors (*_bf16in, as torch). TFLOP/s
// counts 4*B*H*Tq*Tk*D for the forward, halved for causal; the backward alone (forward saved
// outside the timing) 2.5x that, fwd+bwd 3.5x.
if (typeof cg.attention === 'function') {
  const pkg = process.env.CUDAGRAD_TEST_PKG || path.join(__dirname, '..', '..', 'dist');
  const { attentionForward, attentionBackward } = require(path.join(path.dirname(require.resolve(pkg)), 'ops', 'attention'));
  const [B, H, T, D] = small ? [1, 2, 64, 64] : [8, 12, 1024, 64];
  const fwdFlops = (4 * B * H * T * T * D) / 2;
  for (const [prec, tag] of [['highest', 'fp32'], ['medium', 'bf16']]) {
    const kv = (q) => [cg.randn(q.shape, { device: dev, seed: 2 }), cg.randn(q.shape, { device: dev, seed: 3 })];
    cases.push({ id: `attn_fwd_${tag}`, flops: fwdFlops, shape: [B, H, T, D], torch: `sdpa_fwd_${tag}`, make: (q) => {
      const [k, v] = kv(q);
      return atPrecision(prec, () => cg.attention(q, k, v, { causal: true }));
    } });
    cases.push({ id: `attn_bwd_${tag}`, flops: 2.5 * fwdFlops, shape: [B, H, T, D], torch: `sdpa_bwd_${tag}`, make: (q) => {
      const [k, v] = kv(q);
      const dout = cg.randn(q.shape, { device: dev, seed: 4 });
      const f = withPrecision(prec, () => attentionForward(q, k, v, { causal: true }));
      return atPrecision(prec, () => attentionBackward(dout, q, k, v, f.out, f.lse, { causal: true }));
    } });
    cases.push({ id: `attn_fwdbwd_${tag}`, flops: 3.5 * fwdFlops, shape: [B, H, T, D], torch: `sdpa_fwdbwd_${tag}`, make: (q) => {
      const [k, v] = kv(q);
      const dout = cg.randn(q.shape, { device: dev, seed: 4 });
      return atPrecision(prec, () => {
        const f = attentionForward(q, k, v, { causal: true });
        attentionBackward(dout, q, k, v, f.out, f.lse, { causal: true });
      });
    } });
  }
  // bf16 tensors (*_bf16in): the tensor-core kernels read and write bf16 (half the input traffic), bf16
  // mma at any precision; the same torch bf16 SDPA rows as peers (timed once).
  const bf = (x, seed) => (x ? x.cast('bfloat16') : cg.randn([B, H, T, D], { device: dev, seed, dtype: 'bfloat16' }));
  cases.push({ id: 'attn_fwd_bf16in', flops: fwdFlops, shape: [B, H, T, D], torch: 'sdpa_fwd_bf16', peer: 'attn_fwd_bf16', make: (x) => {
    const [q, k, v] = [bf(x), bf(null, 2), bf(null, 3)];
    return () => cg.attention(q, k, v, { causal: true });
  } });
  cases.push({ id: 'attn_bwd_bf16in', flops: 2.5 * fwdFlops, shape: [B, H, T, D], torch: 'sdpa_bwd_bf16', peer: 'attn_bwd_bf16', make: (x) => {
    const [q, k, v, dout] = [bf(x), bf(null, 2), bf(null, 3), bf(null, 4)];
    const f = attentionForward(q, k, v, { causal: true });
    return () => attentionBackward(dout, q, k, v, f.out, f.lse, { causal: true });
  } });
  cases.push({ id: 'attn_fwdbwd_bf16in', flops: 3.5 * fwdFlops, shape: [B, H, T, D], torch: 'sdpa_fwdbwd_bf16', peer: 'attn_fwdbwd_bf16', make: (x) => {
    const [q, k, v, dout] = [bf(x), bf(null, 2), bf(null, 3), bf(null, 4)];
    return () => {
      const f = attentionForward(q, k, v, { causal: true });
      attentionBackward(dout, q, k, v, f.out, f.lse, { causal: true });
    };
  } });
}

const results = [];
for (const c of wgmmaChild ? wgmmaCases : cases) {
  const r = { id: c.id, shape: c.shape, bytes: c.bytes, flops: c.flops, torch: c.torch, peer: c.peer };
  try {
    const x = c.noInput ? null : cg.randn(c.shape, { device: dev, seed: 1 });
    const fn = c.make(x);
    r.cudagrad_s = timeOp(fn);
  } catch (e) {
    r.missing = String(e.message || e);
  }
  results.push(r);
  console.log(`  ${c.id}: ${r.missing ? `missing (${r.missing})` : `${(r.cudagrad_s * 1e6).toFixed(1)} us`}`);
}

const wgmmaFile = path.join(out, 'bench-wgmma.json');
if (wgmmaChild) {
  if (cg.cuda.gemmLaunches().wgmma === 0)
    for (const r of results) if (!r.missing) Object.assign(r, { cudagrad_s: undefined, missing: 'the wgmma GEMM did not run (it needs an sm_90 device and sm_90a code in the addon)' });
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(wgmmaFile, `${JSON.stringify(results, null, 2)}\n`);
  process.exit(0);
}
if (wgmmaCases.length) {
  fs.rmSync(wgmmaFile, { force: true });
  const child = spawnSync(process.execPath, [__filename], { env: { ...process.env, BENCH_WGMMA: '1', CUDAGRAD_GEMM_WGMMA: '1' }, encoding: 'utf8', timeout: 30_000 });
  process.stdout.write(child.stdout || '');
  if (fs.existsSync(wgmmaFile)) results.push(...JSON.parse(fs.readFileSync(wgmmaFile, 'utf8')));
  else {
    const why = `wgmma child exit ${child.status} ${child.signal || ''}: ${(child.stderr || '').trim().split('\n').slice(-3).join(' ')}`;
    for (const c of wgmmaCases) results.push({ id: c.id, shape: c.shape, flops: c.flops, missing: why });
  }
}

// Dispatch overhead: a one-element op, launch loop, per call.
const tiny = cg.ones([1], { device: dev });
const overhead = timeOp(() => cg.relu(tiny), 0.5);
console.log(`  dispatch overhead (relu on 1 element, incl. output alloc + dispose): ${(overhead * 1e6).toFixed(2)} us`);

// PyTorch on the same GPU, same cases (+ the copy ceiling).
let torch = {};
const py = spawnSync('python3', [path.join(__dirname, 'torch_bench.py')], {
  input: JSON.stringify({ small, cases: results.filter((r) => !r.peer && r.torch).map((r) => ({ id: r.id, op: r.torch, shape: r.shape })) }),
  encoding: 'utf8',
  stdio: ['pipe', 'pipe', 'inherit'],
  env: { ...process.env, PYTHONUNBUFFERED: '1' },
});
if (py.status === 0) torch = JSON.parse(py.stdout);
else console.log(`  torch peers unavailable (python exit ${py.status})`);

const copyGBs = torch.copy_gbs;
for (const r of results) {
  const t = torch[r.peer || r.id];
  if (t !== undefined) r.torch_s = t;
  const rate = (s) => (r.flops ? r.flops / s / 1e12 : r.bytes / s / 1e9);
  r.unit = r.flops ? 'TFLOP/s' : 'GB/s';
  if (r.cudagrad_s) r.cudagrad_rate = rate(r.cudagrad_s);
  if (r.torch_s) r.torch_rate = rate(r.torch_s);
  if (r.cudagrad_s && r.torch_s) r.vs_torch = r.torch_s / r.cudagrad_s;
  if (!r.flops && r.cudagrad_rate && copyGBs) r.of_copy = r.cudagrad_rate / copyGBs;
}
const report = { date: new Date().toISOString(), device: cg.devices().find((d) => d.type === 'cuda'), copy_gbs: copyGBs, dispatch_overhead_us: overhead * 1e6, results };
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'bench.json'), `${JSON.stringify(report, null, 2)}\n`);
