// The parts of bench/device-check.sh that need no GPU: the bundle for the GPU
// machine (packed Node, compiled tests, headers) and a dry run of the whole
// script on the SIMT emulator build, which must produce its JSON and table
// (the GPT training benchmark included, at a tiny size).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { root } from './helpers';

t.test('device bundle and an emulated dry run of bench/device-check.sh', async (t) => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.CUDAGRAD_ADDON;
  const bundle = spawnSync('bash', ['scripts/device-bundle.sh'], { cwd: root, encoding: 'utf8', env, timeout: 900_000 });
  t.equal(bundle.status, 0, 'scripts/device-bundle.sh', { output: `${bundle.stdout}${bundle.stderr}`.slice(-3000) });
  for (const f of ['.device/node.xz', '.device/unpack-node.sh', '.device/js/lib/index.js', '.device/js/test/activation.test.js', '.device/js/package.json', '.device/headers/node-addon-api/napi.h', 'build/Release/cudagrad.node'])
    t.ok(fs.existsSync(path.join(root, f)), `${f} in the bundle`);

  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cudagrad-devcheck-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const run = spawnSync('bash', ['bench/device-check.sh'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...env, OUT: out, DEVICE_CHECK_EMULATE: '1', DEVICE_CHECK_FILTER: 'activation', DEVICE_CHECK_TRAIN_GPT_S: '120' },
    timeout: 600_000,
  });
  const text = `${run.stdout}${run.stderr}`;
  t.equal(run.status, 0, 'bench/device-check.sh (emulated)', { output: text.slice(-3000) });
  t.match(text, /=== device-check summary/);
  t.match(text, /tests on CUDA: [1-9]\d* passed, 0 failed/);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'device-check.json'), 'utf8'));
  t.equal(report.tests.fail, 0);
  const notOk = report.parity.filter((p: { ok?: boolean }) => !p.ok).map((p: { op: string; missing?: string }) => `${p.op}${p.missing ? ` (missing: ${p.missing})` : ''}`);
  t.ok(report.parity.length > 40 && notOk.length === 0, `parity: all ${report.parity.length} ops agree, none missing`, { notOk });
  t.ok(report.parity.filter((p: { op: string; ok?: boolean }) => p.op.endsWith('_medium_wgmma') && p.ok).length === 5, 'parity: the GEMM cases on the wgmma kernel (emulated sm_90)');
  const missing = report.bench.results.filter((r: { missing?: string }) => r.missing).map((r: { id: string; missing: string }) => `${r.id}: ${r.missing}`);
  t.same(missing, [], 'no benchmark case missing');
  for (const id of ['gemm_fp32_64', 'gemm_tf32_64', 'gemm_bf16_64', 'gemm_bf16_wgmma_64', 'attn_bwd_bf16', 'attn_fwd_bf16in', 'attn_bwd_bf16in', 'crossentropy_fwdbwd', 'adamw_clip_gpt2'])
    t.ok(report.bench.results.some((r: { id: string; cudagrad_s?: number }) => r.id === id && r.cudagrad_s! > 0), `benchmark ${id} timed`);
  t.ok(report.bench.results.some((r: { cudagrad_s?: number }) => r.cudagrad_s! > 0), 'benchmarks timed');
  const gpt = report.gpt?.cudagrad;
  t.ok(gpt?.tokens_per_s > 0 && gpt.mfu > 0, 'GPT training step timed (tokens/s, MFU)', { gpt });
  const profiled = (gpt?.profile?.ops ?? []).map((o: { fn: string }) => o.fn);
  t.ok(['linear', 'linearBackward', 'attentionForward', 'crossEntropyWithGrad', 'adamStepMulti'].every((f) => profiled.includes(f)), 'a GPT step profiled per native call', { profiled, error: gpt?.profile_error });
  t.ok(gpt?.losses?.length === report.gpt.config.warmup + report.gpt.config.steps && gpt.losses.every((l: number) => Number.isFinite(l) && l > 0), 'its losses are finite');
  t.match(text, /GPT 1 layers x 64, batch 2 x 32 \(bf16 autocast\):\ncudagrad +\d+ tokens\/s/);
  const trainLog = fs.readFileSync(path.join(out, 'train-gpt.log'), 'utf8');
  t.match(trainLog, /val loss \d+\.\d+ \(whole validation split/, 'the optional train gpt step ran the CLI to its end (tiny size)', { trainLog: trainLog.slice(-1500) });
});
