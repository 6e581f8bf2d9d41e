// Shared pieces of the training benchmarks (train-mlp.js, train-gpt.js,
// profile-step.js): the command-line option reader, the median, the report
// writer (date, command, load average, machine), and a PyTorch peer run as a
// server (one request line in, one line of numbers out) so that the caller
// can interleave its runs with the peer's. The peer gets the same thread count,
// OpenMP's passive wait policy (spinning threads slow it 2.7x on 2 cores) and
// no OpenBLAS overrides, and runs on Debian's /usr/bin/python3 (python3-torch).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const opt = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Starts `script args...`; ask(line) resolves to the numbers of the answer line. */
function startPeer(script, args, threads) {
  const env = { ...process.env, OMP_WAIT_POLICY: 'passive', OMP_NUM_THREADS: String(threads), BENCH_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const p = spawn('/usr/bin/python3', [script, ...args], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  let buf = '';
  const waiting = [];
  p.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      waiting.shift()?.resolve(line.trim().split(/\s+/).map(Number));
    }
  });
  p.on('exit', (code) => waiting.splice(0).forEach((w) => w.reject(new Error(`the PyTorch peer exited (${code})`))));
  return {
    ask: (line) =>
      new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        p.stdin.write(`${line}\n`);
      }),
    close: () => p.stdin.end(),
  };
}

/**
 * Writes bench/results/<name>-<date>.json (or $OUT/...): the date, the command
 * line, the load average, the machine, then `fields`. Returns the file path.
 */
function writeReport(name, cg, threads, fields) {
  const date = new Date().toISOString().slice(0, 10);
  const cpus = os.cpus();
  const script = path.relative(path.join(__dirname, '..'), process.argv[1]);
  const report = {
    date,
    command: ['node', script, ...process.argv.slice(2)].join(' '),
    loadavg_at_end: os.loadavg(),
    machine: { cpu: cpus.length ? cpus[0].model.trim() : 'cpu', threads, cores: cpus.length, simd: cg.devices()[0].simd, node: process.version },
    ...fields,
  };
  const dir = process.env.OUT || path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${date}.json`);
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

/**
 * The reference DNN's training step written by hand (784-128-10, ReLU fused
 * into the first linear, Adam lr 1e-3, sparse cross-entropy on the logits),
 * as bench/train-mlp.js times it and bench/profile-step.js profiles it:
 * step(idx) gathers the rows idx of train.x, updates, reads the loss and the
 * predictions; returns { loss, correct }. Seeded with cg.manualSeed(0).
 */
function mlpLoop(cg, train) {
  cg.manualSeed(0);
  const net = new cg.nn.Sequential(new cg.nn.Linear(784, 128), new cg.nn.ReLU(), new cg.nn.Linear(128, 10));
  const adam = new cg.optim.Adam(net.parameters(), { lr: 1e-3 });
  const [l1, l2] = [net.at(0), net.at(2)];
  const labels = train.y.toArray();
  return (idx) =>
    cg.tidy(() => {
      const xb = cg.embedding(cg.tensor(idx), train.x);
      const yb = cg.tensor(Int32Array.from(idx, (i) => labels[i]));
      adam.zeroGrad();
      const logits = cg.linear(cg.linear(xb, l1.weight, l1.bias, { activation: 'relu' }), l2.weight, l2.bias);
      const loss = cg.crossEntropy(logits, yb);
      loss.backward();
      adam.step();
      const value = loss.item();
      const pred = cg.argmax(logits, 1).toArray();
      let correct = 0;
      for (let i = 0; i < idx.length; i++) if (pred[i] === labels[idx[i]]) correct++;
      return { loss: value, correct };
    });
}

/**
 * Times every function of the native addon while fn(steps) runs: wall clock
 * per call, after `sync()` before and after each call when given (CUDA: the
 * call's kernels then count, not just their launch). Returns the calls by
 * total time per step and what the step spent outside them (JS, autograd,
 * allocation; with sync, the waits' own cost too).
 */
function timeNativeCalls(native, steps, fn, sync = null) {
  const stats = new Map();
  const saved = new Map();
  let depth = 0;
  for (const key of Object.keys(native)) {
    const f = native[key];
    if (typeof f !== 'function') continue;
    saved.set(key, f);
    native[key] = function (...args) {
      if (depth > 0) return f.apply(this, args); // sync()'s own native calls
      depth++;
      try {
        if (sync) sync();
        const t0 = process.hrtime.bigint();
        try {
          const r = f.apply(this, args);
          if (sync) sync();
          return r;
        } finally {
          const s = stats.get(key) ?? { calls: 0, ns: 0n };
          s.calls++;
          s.ns += process.hrtime.bigint() - t0;
          stats.set(key, s);
        }
      } finally {
        depth--;
      }
    };
  }
  let total;
  try {
    const t0 = process.hrtime.bigint();
    fn(steps);
    total = Number(process.hrtime.bigint() - t0) / 1e6 / steps;
  } finally {
    for (const [key, f] of saved) native[key] = f;
  }
  const ops = [...stats]
    .map(([k, s]) => ({ fn: k, calls_per_step: s.calls / steps, ms_per_step: Number(s.ns) / 1e6 / steps }))
    .sort((a, b) => b.ms_per_step - a.ms_per_step);
  const inNative = ops.reduce((a, r) => a + r.ms_per_step, 0);
  return { ms_per_step: total, outside_native_ms: total - inNative, ops };
}

/** Lines of a timeNativeCalls result: calls above 0.2% of the step, then the rest. */
function formatNativeCalls(p) {
  const pct = (ms) => ((100 * ms) / p.ms_per_step).toFixed(1).padStart(5);
  return [
    ...p.ops.filter((r) => r.ms_per_step >= p.ms_per_step / 500).map((r) => `${r.fn.padEnd(28)} ${r.ms_per_step.toFixed(3).padStart(9)} ms ${pct(r.ms_per_step)}%  ${r.calls_per_step} calls`),
    `${'outside native calls'.padEnd(28)} ${p.outside_native_ms.toFixed(3).padStart(9)} ms ${pct(p.outside_native_ms)}%`,
  ];
}

module.exports = { opt, median, startPeer, writeReport, mlpLoop, timeNativeCalls, formatNativeCalls };
