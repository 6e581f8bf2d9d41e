// cudagrad.attention on bfloat16 q, k, v: out and the gradients are bf16, lse
// float32; on the CPU (float32 copies, the float32 kernels, one rounding) and
// on CUDA (a GPU, or the SIMT emulator in `npm test`'s second run: the
// tensor-core kernels reading bf16 directly, bf16 mma whatever the matmul
// precision; float32 copies for D > 128). Reference: float64 attention
// (attention-ref.ts) on the bf16 values the tensors hold, dout included.
// Tolerances (|got - want| <= atol + rtol |want|; inputs of size ~1):
//   rounding a result to bf16 (8 significant bits) is off by <= 2^-8 of it;
//   CPU: that plus the float32 tolerances of attention-ref.ts; the gradients
//     also see Delta = rowsum(dout * out) from the bf16 out (as FlashAttention
//     and torch's SDPA backward): dq_i, dk_j move by up to 2^-8 sum_d
//     |dout_id out_id| |k| / sqrt(D) (|q|), a bound for errors all of one sign
//     (<= 0.07 at D = 128, |dout|, |out| <= 1, |k| <= 1.5); the roundings have
//     both signs: observed <= 6e-4 beyond the output rounding: atol 2e-3;
//   CUDA tensor cores: P (and dS) are also rounded to bf16 for the P V (and
//     dS K, dS^T Q, P^T dO) products, 2^-8 of each term: out off by <= 2^-8
//     sum_j P_ij |v_j| <= 2^-8 (|v| <= 1) on top of the output rounding
//     (observed <= 1e-3 beyond it): out atol 2^-8, rtol 2^-8 + 1e-4; the
//     gradients sum such terms over Tq queries or Tk keys (observed <= 2.4e-3
//     beyond the output rounding, Tq, Tk up to 300): atol 1e-2, rtol 2^-7;
//     lse (float32 statistics from exact bf16 products, float32 sums)
//     1e-4 + 1e-4 rel (tensor cores may truncate within their sums).
// Also: the CPU result is bit-for-bit the bf16 rounding of the float32
// kernels on the same values (its documented composition); the CUDA bf16
// results are bit-for-bit the same at every matmul precision and twice in a
// row; cg.cuda.attentionLaunches() shows the bf16 tensor-core kernels ran;
// autograd (bf16 leaves get bf16 gradients); mixed dtypes are refused.
import t from 'tap';
import type { Test } from 'tap';

import * as cg from '../lib/index';
import { attentionBackward, attentionForward } from '../lib/ops/attention';
import { Case, CPU_TOL, inputs, label, maskTensor, reference, Tol } from './attention-ref';
import { assertClose } from './oracle';

const U = 2 ** -8;
const BF16_CPU: Tol = { out: [CPU_TOL.out[0], U + CPU_TOL.out[1]], lse: CPU_TOL.lse, grad: [2e-3, U + CPU_TOL.grad[1]] };
const BF16_TC: Tol = { out: [U, U + 1e-4], lse: [1e-4, 1e-4], grad: [1e-2, 2 * U] };

const available = cg.cuda.available();
const devices: cg.Device[] = available ? ['cpu', 'cuda'] : ['cpu'];

/** A bf16 tensor of `values` (rounded to nearest even) and the values it holds. */
function bf16(values: ArrayLike<number>, shape: number[], device: cg.Device): { t: cg.Tensor; x: Float64Array } {
  const t = cg.tensor(Float32Array.from(values), { shape, dtype: 'bfloat16', device });
  return { t, x: Float64Array.from(t.toArray()) };
}

function bf16Inputs(c: Case, seed: number, device: cg.Device) {
  const x = inputs(c, seed);
  const qs = [c.B, c.H, c.Tq, c.D];
  const ks = [c.B, c.H, c.Tk, c.D];
  const [q, k, v, dout] = [bf16(x.q, qs, device), bf16(x.k, ks, device), bf16(x.v, ks, device), bf16(x.dout, qs, device)];
  return { q, k, v, dout, mask: x.mask, opts: { causal: c.causal, mask: maskTensor(c, x.mask, device) } };
}

/** Runs case c with bf16 inputs on `device` against the float64 reference on their values. */
function checkBf16(t: Test, c: Case, seed: number, device: cg.Device, tol: Tol, tag: string) {
  const x = bf16Inputs(c, seed, device);
  const want = reference(c, x.q.x, x.k.x, x.v.x, x.mask, x.dout.x);
  const f = attentionForward(x.q.t, x.k.t, x.v.t, x.opts);
  const g = attentionBackward(x.dout.t, x.q.t, x.k.t, x.v.t, f.out, f.lse, x.opts);
  const name = `${label(c)} (${device}${tag})`;
  t.same([f.out.dtype, f.lse.dtype, g.dq.dtype, g.dk.dtype, g.dv.dtype], ['bfloat16', 'float32', 'bfloat16', 'bfloat16', 'bfloat16'], `dtypes ${name}`);
  assertClose(t, f.out.toArray(), want.out, ...tol.out, `out ${name}`);
  assertClose(t, f.lse.toArray(), want.lse, ...tol.lse, `lse ${name}`);
  assertClose(t, g.dq.toArray(), want.dq, ...tol.grad, `dq ${name}`);
  assertClose(t, g.dk.toArray(), want.dk, ...tol.grad, `dk ${name}`);
  assertClose(t, g.dv.toArray(), want.dv, ...tol.grad, `dv ${name}`);
  return [f.out, f.lse, g.dq, g.dk, g.dv];
}

// Every templated head size (32, 64, 96, 128), sizes padded up to them and not
// a multiple of 8 (20, 100: element loads instead of 16-byte copies), D > 128
// (CUDA: float32 copies, general kernels), odd Tq, Tk with Tq != Tk both
// ways, causal, float and int masks, fully masked rows and batches.
const CASES: Case[] = [
  { B: 1, H: 2, Tq: 17, Tk: 33, D: 32, causal: true, mask: 'int' },
  { B: 2, H: 1, Tq: 33, Tk: 17, D: 64, causal: true, mask: 'float' },  // Tq > Tk: queries 0..15 see no key
  { B: 2, H: 1, Tq: 1, Tk: 33, D: 96, causal: false, mask: 'int-dead' },
  { B: 1, H: 1, Tq: 33, Tk: 1, D: 128, causal: false, mask: 'none' },
  { B: 2, H: 1, Tq: 17, Tk: 33, D: 128, causal: true, mask: 'float-dead' },
  { B: 1, H: 1, Tq: 17, Tk: 17, D: 20, causal: true, mask: 'none' },
  { B: 1, H: 1, Tq: 9, Tk: 17, D: 100, causal: false, mask: 'float' },
  { B: 1, H: 1, Tq: 5, Tk: 9, D: 136, causal: true, mask: 'int' },
];

t.test('bf16 inputs against the float64 reference on their values', async (t) => {
  for (const device of devices) {
    const tol = (c: Case) => (device === 'cpu' || c.D > 128 ? BF16_CPU : BF16_TC);
    const before = available ? cg.cuda.attentionLaunches() : null;
    await t.test(device, async (t) => {
      CASES.forEach((c, n) => checkBf16(t, c, 500 + n, device, tol(c), ''));
    });
    if (device === 'cuda' && before) {
      const after = cg.cuda.attentionLaunches();
      const tiled = CASES.filter((c) => c.D <= 128).length;
      t.equal(after.mmaBf16 - before.mmaBf16, 2 * tiled, 'CUDA: the bf16 tensor-core kernels ran forward and backward for D <= 128');
      t.equal(after.mma - before.mma, 0, 'CUDA: no float32 tensor-core call');
    }
  }
});

t.test('CPU: bit-for-bit the bf16 rounding of the float32 kernels on the same values', async (t) => {
  const c: Case = { B: 2, H: 2, Tq: 33, Tk: 70, D: 40, causal: true, mask: 'float' };
  const x = bf16Inputs(c, 7, 'cpu');
  const [q, k, v, dout] = [x.q, x.k, x.v, x.dout].map((y) => y.t.cast('float32'));
  const f = attentionForward(x.q.t, x.k.t, x.v.t, x.opts);
  const f32 = attentionForward(q, k, v, x.opts);
  t.same(Array.from(f.out.toArray()), Array.from(f32.out.cast('bfloat16').toArray()), 'out = bf16(float32 out)');
  t.same(Array.from(f.lse.toArray()), Array.from(f32.lse.toArray()), 'lse = float32 lse');
  const g = attentionBackward(x.dout.t, x.q.t, x.k.t, x.v.t, f.out, f.lse, x.opts);
  const g32 = attentionBackward(dout, q, k, v, f.out.cast('float32'), f.lse, x.opts);
  for (const n of ['dq', 'dk', 'dv'] as const)
    t.same(Array.from(g[n].toArray()), Array.from(g32[n].cast('bfloat16').toArray()), `${n} = bf16(float32 ${n}, from the bf16 out)`);
});

t.test('CUDA: the same bits at every matmul precision and twice in a row', { skip: available ? false : `no CUDA device: ${cg.cuda.reason()}` }, async (t) => {
  const before = cg.getMatmulPrecision();
  t.teardown(() => cg.setMatmulPrecision(before));
  const c: Case = { B: 1, H: 2, Tq: 70, Tk: 45, D: 64, causal: true, mask: 'int' };
  const x = bf16Inputs(c, 11, 'cuda');
  const run = () => {
    const f = attentionForward(x.q.t, x.k.t, x.v.t, x.opts);
    const g = attentionBackward(x.dout.t, x.q.t, x.k.t, x.v.t, f.out, f.lse, x.opts);
    return [f.out, f.lse, g.dq, g.dk, g.dv].map((y) => Array.from(y.toArray()));
  };
  cg.setMatmulPrecision('medium');
  const want = run();
  t.same(run(), want, "'medium' twice: same bits");
  for (const prec of ['highest', 'high'] as cg.MatmulPrecision[]) {
    cg.setMatmulPrecision(prec);
    t.same(run(), want, `'${prec}': the bits of 'medium' (bf16 inputs always take the bf16 mma)`);
  }
  // And the CPU agrees within the tensor-core tolerance.
  const xc = bf16Inputs(c, 11, 'cpu');
  const fc = attentionForward(xc.q.t, xc.k.t, xc.v.t, xc.opts);
  const gc = attentionBackward(xc.dout.t, xc.q.t, xc.k.t, xc.v.t, fc.out, fc.lse, xc.opts);
  [fc.out, fc.lse, gc.dq, gc.dk, gc.dv].forEach((y, n) => {
    const kind = n === 0 ? 'out' : n === 1 ? 'lse' : 'grad';
    const [atol, rtol] = [0, 1].map((i) => BF16_TC[kind][i] + BF16_CPU[kind][i]);  // both off the truth
    assertClose(t, want[n], y.toArray(), atol, rtol, `${['out', 'lse', 'dq', 'dk', 'dv'][n]}: CUDA agrees with the CPU`);
  });
});

// A GPU with less shared memory per block (the emulator plays one with CUDAGRAD_EMU_SMEM_OPTIN_KB, in
// a child process: the limit is read once): at 48 KiB the D = 64 bf16 kernels (55 and 74 KiB) step
// aside for float32 copies through the float32 kernels, D = 32 (31 and 42 KiB) still runs on them.
const emulated = available && /SIMT emulator/.test(cg.devices().find((d) => d.type === 'cuda')?.name ?? '');
t.test('48 KiB of shared memory (emulated): D = 64 falls back to float32 copies, D = 32 stays on bf16 tensor cores', { skip: emulated ? false : 'needs the SIMT emulator' }, async (t) => {
  // The compiled package: dist/, or the device bundle's (CUDAGRAD_TEST_PKG).
  const dist = process.env.CUDAGRAD_TEST_PKG || require('node:path').join(__dirname, '..', 'dist');
  const script = `
    const cg = require(${JSON.stringify(dist)});
    const { attentionForward, attentionBackward } = require(${JSON.stringify(`${dist}/ops/attention`)});
    const res = {};
    for (const D of [32, 64]) {
      const [q, k, v, d] = [1, 2, 3, 4].map((s) => cg.randn([1, 2, 40, D], { seed: s, dtype: 'bfloat16' }));
      const run = (dev) => {
        const [qq, kk, vv, dd] = [q, k, v, d].map((x) => x.to(dev));
        const f = attentionForward(qq, kk, vv, { causal: true });
        const g = attentionBackward(dd, qq, kk, vv, f.out, f.lse, { causal: true });
        return [f.out, f.lse, g.dq, g.dk, g.dv].map((x) => x.toArray());
      };
      const want = run('cpu');
      const n0 = cg.cuda.attentionLaunches().mmaBf16;
      const got = run('cuda');
      let worst = 0;
      got.forEach((y, n) => {
        const [atol, rtol] = n === 1 ? [1e-4, 1e-4] : n === 0 ? [4 * (2 ** -8 + 1e-5), 2 ** -7 + 2e-4] : [4 * 1.2e-2, 3 * 2 ** -8 + 3e-4];
        for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i] - want[n][i]) / (atol + rtol * Math.abs(want[n][i])));
      });
      res[D] = { worst, mmaBf16: cg.cuda.attentionLaunches().mmaBf16 - n0 };
    }
    console.log(JSON.stringify(res));`;
  const r = require('node:child_process').spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, CUDAGRAD_EMU_SMEM_OPTIN_KB: '48' } });
  t.equal(r.status, 0, 'the child ran', { stderr: r.stderr });
  const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  t.equal(res[32]?.mmaBf16, 2, 'D = 32: forward and backward on the bf16 tensor-core kernels');
  t.equal(res[64]?.mmaBf16, 0, 'D = 64: neither (float32 copies)');
  for (const D of [32, 64]) t.ok(res[D]?.worst <= 1, `D = ${D}: CUDA agrees with the CPU (worst ${Number(res[D]?.worst).toFixed(3)} of tolerance)`);
});

t.test('autograd: bf16 leaves get bf16 gradients, equal to attentionBackward', async (t) => {
  for (const device of devices) {
    const c: Case = { B: 1, H: 2, Tq: 9, Tk: 17, D: 32, causal: true, mask: 'none' };
    const x = bf16Inputs(c, 3, device);
    const [q, k, v] = [x.q, x.k, x.v].map((y) => cg.tensor(y.t.toArray(), { shape: y.t.shape, dtype: 'bfloat16', device, requiresGrad: true }));
    const out = cg.attention(q, k, v, { causal: true });
    t.equal(out.dtype, 'bfloat16', `out is bf16 (${device})`);
    out.backward(x.dout.t);
    const f = attentionForward(q, k, v, { causal: true });
    const g = attentionBackward(x.dout.t, q, k, v, f.out, f.lse, { causal: true });
    for (const [leaf, want, n] of [[q, g.dq, 'dq'], [k, g.dk, 'dk'], [v, g.dv, 'dv']] as const) {
      t.equal(leaf.grad?.dtype, 'bfloat16', `${n} is bf16 (${device})`);
      t.same(Array.from(leaf.grad!.toArray()), Array.from(want.toArray()), `${n}: the bits of attentionBackward (${device})`);
    }
    // Self-attention on one leaf: its three gradients summed by autograd (each sum rounded to bf16).
    const xs = cg.tensor(q.toArray(), { shape: q.shape, dtype: 'bfloat16', device, requiresGrad: true });
    cg.attention(xs, xs, xs).backward(x.dout.t);
    t.equal(xs.grad?.dtype, 'bfloat16', `self-attention: the summed gradient is bf16 (${device})`);
    const f2 = attentionForward(q, q, q);
    const g2 = attentionBackward(x.dout.t, q, q, q, f2.out, f2.lse);
    const [a, b, c2] = [g2.dq, g2.dk, g2.dv].map((y) => y.toArray());
    const sum = xs.grad!.toArray();
    let worst = 0;
    for (let i = 0; i < sum.length; i++)
      worst = Math.max(worst, Math.abs(sum[i] - (a[i] + b[i] + c2[i])) / (1e-6 + 2 * U * (Math.abs(a[i]) + Math.abs(b[i]) + Math.abs(c2[i]))));
    t.ok(worst <= 1, `self-attention: dq + dk + dv within two bf16 roundings of partial sums (worst ${worst.toFixed(3)} of it) (${device})`);
  }
});

t.test('mixed or unsupported dtypes are refused, naming the op, the dtypes and the shapes', async (t) => {
  const qf = cg.zeros([1, 1, 2, 4]);
  const kb = cg.zeros([1, 1, 3, 4], { dtype: 'bfloat16' });
  const qb = cg.zeros([1, 1, 2, 4], { dtype: 'bfloat16' });
  t.throws(() => cg.attention(qf, kb, kb), {
    name: 'TypeError',
    message: 'cudagrad.attention: q, k and v must share one dtype, float32 or bfloat16; got q float32 [1, 1, 2, 4], k bfloat16 [1, 1, 3, 4], v bfloat16 [1, 1, 3, 4]',
  });
  t.throws(() => cg.attention(qb, kb, cg.zeros([1, 1, 3, 4])), /cudagrad\.attention: q, k and v must share one dtype.*v float32/);
  const qi = cg.zeros([1, 1, 2, 4], { dtype: 'int32' });
  t.throws(() => cg.attention(qi, qi, qi), /cudagrad\.attention: q, k and v must share one dtype, float32 or bfloat16; got q int32/);
  t.throws(() => cg.attention(qb, kb, kb, { mask: cg.zeros([1, 3], { dtype: 'bfloat16' }) }), /cudagrad\.attention: mask must be float32 \(additive\) or int32 \(boolean\), got bfloat16/);
  const f = attentionForward(qb, kb, kb);
  t.throws(() => attentionBackward(cg.zeros([1, 1, 2, 4]), qb, kb, kb, f.out, f.lse), {
    name: 'TypeError',
    message: "cudagrad.attention backward: dout and out must have q's dtype (bfloat16); got dout float32 [1, 1, 2, 4], out bfloat16 [1, 1, 2, 4]",
  });
  t.throws(() => attentionBackward(qb, qb, kb, kb, f.out, f.lse.cast('bfloat16')), /cudagrad\.attention backward: .*lse.*float32/);
});
