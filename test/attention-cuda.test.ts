// CUDA attention specifics (a GPU, or the SIMT emulator in `npm test`'s second
// run; skipped without either), at every matmul precision with the tolerances
// of attention-ref.ts: every templated head size (32, 64, 96, 128), head sizes
// padded up to them (20, 100), the general kernels (D > 128), sizes straddling
// the 64-row resident tiles and the 32/64-row streamed tiles, causal with
// Tq < Tk and Tq > Tk, masks; bit-for-bit determinism (no atomics: dq is a
// separate pass); agreement with the CPU on a multi-tile causal case; inputs
// on mixed devices.
import t from 'tap';
import type { Test } from 'tap';

import * as cg from '../lib/index';
import { attentionBackward, attentionForward } from '../lib/ops/attention';
import { Case, CUDA_TOL, checkCase, inputs, maskTensor, reference } from './attention-ref';
import { assertClose, f32 } from './oracle';

const PRECISIONS: cg.MatmulPrecision[] = ['highest', 'high', 'medium'];

async function eachPrecision(t: Test, body: (t: Test, prec: cg.MatmulPrecision) => void): Promise<void> {
  const before = cg.getMatmulPrecision();
  try {
    for (const prec of PRECISIONS) {
      cg.setMatmulPrecision(prec);
      await t.test(prec, async (t) => body(t, prec));
    }
  } finally {
    cg.setMatmulPrecision(before);
  }
}

const available = cg.cuda.available();
const skip = available ? false : `no CUDA device: ${cg.cuda.reason()}`;

t.test('every head-size kernel against the float64 reference', { skip }, async (t) => {
  const cases: Case[] = [
    { B: 1, H: 2, Tq: 65, Tk: 97, D: 32, causal: true, mask: 'int' },
    { B: 2, H: 1, Tq: 97, Tk: 33, D: 64, causal: true, mask: 'float' },  // Tq > Tk: rows 0..63 see no key
    { B: 1, H: 1, Tq: 70, Tk: 65, D: 96, causal: false, mask: 'int-dead' },
    { B: 1, H: 1, Tq: 33, Tk: 100, D: 128, causal: true, mask: 'none' },  // Tq < Tk
    { B: 1, H: 1, Tq: 64, Tk: 64, D: 128, causal: true, mask: 'float' },
    { B: 1, H: 2, Tq: 40, Tk: 70, D: 20, causal: true, mask: 'none' },   // padded to 32, rows 16-byte aligned
    { B: 1, H: 1, Tq: 31, Tk: 45, D: 100, causal: false, mask: 'float' }, // padded to 128
    { B: 2, H: 1, Tq: 9, Tk: 12, D: 160, causal: true, mask: 'int' },    // general kernels
  ];
  const refs = cases.map((c, n) => {
    const x = inputs(c, 300 + n);
    return reference(c, x.q, x.k, x.v, x.mask, x.dout);
  });
  await eachPrecision(t, (t, prec) => {
    cases.forEach((c, n) => checkCase(t, c, 300 + n, refs[n], 'cuda', CUDA_TOL[prec], ` (cuda ${prec})`));
  });
});

t.test('bit-for-bit deterministic, at every precision', { skip }, async (t) => {
  const c: Case = { B: 1, H: 2, Tq: 70, Tk: 100, D: 64, causal: true, mask: 'int' };
  const x = inputs(c, 9);
  const qs = [c.B, c.H, c.Tq, c.D];
  const ks = [c.B, c.H, c.Tk, c.D];
  const [q, k, v, dout] = [f32(x.q, qs, 'cuda'), f32(x.k, ks, 'cuda'), f32(x.v, ks, 'cuda'), f32(x.dout, qs, 'cuda')];
  const opts = { causal: true, mask: maskTensor(c, x.mask, 'cuda') };
  const run = () => {
    const f = attentionForward(q, k, v, opts);
    const g = attentionBackward(dout, q, k, v, f.out, f.lse, opts);
    return [f.out, f.lse, g.dq, g.dk, g.dv].map((y) => Array.from(y.toArray()));
  };
  await eachPrecision(t, (t, prec) => {
    const a = run();
    const b = run();
    ['out', 'lse', 'dq', 'dk', 'dv'].forEach((name, i) => t.same(b[i], a[i], `${name}: same bits twice (${prec})`));
  });
});

t.test('CUDA float32 agrees with the CPU on a multi-tile causal case', { skip }, async (t) => {
  const before = cg.getMatmulPrecision();
  cg.setMatmulPrecision('highest');
  t.teardown(() => cg.setMatmulPrecision(before));
  const q = cg.randn([1, 3, 150, 64], { seed: 21 });
  const k = cg.randn([1, 3, 150, 64], { seed: 22 });
  const v = cg.randn([1, 3, 150, 64], { seed: 23 });
  const dout = cg.randn([1, 3, 150, 64], { seed: 24 });
  const cpu = attentionForward(q, k, v, { causal: true });
  const gc = attentionBackward(dout, q, k, v, cpu.out, cpu.lse, { causal: true });
  const [qg, kg, vg, dg] = [q, k, v, dout].map((x) => x.to('cuda'));
  const gpu = attentionForward(qg, kg, vg, { causal: true });
  const gg = attentionBackward(dg, qg, kg, vg, gpu.out, gpu.lse, { causal: true });
  assertClose(t, gpu.out.toArray(), cpu.out.toArray(), 1e-5, 1e-4, 'out');
  assertClose(t, gpu.lse.toArray(), cpu.lse.toArray(), 1e-5, 1e-5, 'lse');
  assertClose(t, gg.dq.toArray(), gc.dq.toArray(), 3e-5, 3e-4, 'dq');
  assertClose(t, gg.dk.toArray(), gc.dk.toArray(), 3e-5, 3e-4, 'dk');
  assertClose(t, gg.dv.toArray(), gc.dv.toArray(), 3e-5, 3e-4, 'dv');
  // Through autograd, seeded with dout: the same kernels, the same bits.
  const [qa, ka, va] = [q, k, v].map((x) => cg.tensor(x.toArray(), { shape: x.shape, device: 'cuda', requiresGrad: true }));
  cg.attention(qa, ka, va, { causal: true }).backward(dg);
  assertClose(t, qa.grad!.toArray(), gg.dq.toArray(), 0, 0, 'autograd dq');
  assertClose(t, ka.grad!.toArray(), gg.dk.toArray(), 0, 0, 'autograd dk');
  assertClose(t, va.grad!.toArray(), gg.dv.toArray(), 0, 0, 'autograd dv');
});

t.test('inputs on different devices', { skip }, async (t) => {
  const q = cg.zeros([1, 1, 2, 4], { device: 'cuda' });
  const k = cg.zeros([1, 1, 3, 4]);
  t.throws(() => cg.attention(q, k, k), /cudagrad\.attention: .*cuda.*cpu|cudagrad\.attention: .*cpu.*cuda/);
  const kc = cg.zeros([1, 1, 3, 4], { device: 'cuda' });
  t.throws(() => cg.attention(q, kc, kc, { mask: cg.ones([1, 3], { dtype: 'int32' }) }), /cudagrad\.attention: /);
});

// A GPU with less shared memory per block than the H200 (sm_86/89: 99 KiB, sm_75: 64 KiB): the
// tiled kernels that do not fit must step aside for ones that do (down to the general kernels),
// with the same results. The emulator plays such a part with CUDAGRAD_EMU_SMEM_OPTIN_KB, in a child
// process (the limit is read once); on a real GPU this is the GPU's own limit and the test is moot.
const emulated = available && /SIMT emulator/.test(cg.devices().find((d) => d.type === 'cuda')?.name ?? '');
t.test('smaller shared memory (emulated sm_86 and sm_75 limits): the kernels that fit run, results match the CPU', { skip: emulated ? false : 'needs the SIMT emulator (it plays the smaller part)' }, async (t) => {
  // The compiled package: dist/, or the device bundle's (CUDAGRAD_TEST_PKG).
  const dist = process.env.CUDAGRAD_TEST_PKG || require('node:path').join(__dirname, '..', 'dist');
  const script = `
    const cg = require(${JSON.stringify(dist)});
    const { attentionForward, attentionBackward } = require(${JSON.stringify(require('node:path').join(dist, 'ops', 'attention'))});
    const tols = { highest: [[1e-5, 1e-4], [3e-5, 3e-4]], high: [[5e-3, 5e-3], [1e-2, 1e-2]], medium: [[3e-2, 3e-2], [8e-2, 8e-2]] };
    let worst = 0;
    for (const D of [32, 64, 96, 128]) {
      const [q, k, v, d] = [1, 2, 3, 4].map((s) => cg.randn([1, 2, 70, D], { seed: s, device: 'cpu' }));
      const f = attentionForward(q, k, v, { causal: true });
      const g = attentionBackward(d, q, k, v, f.out, f.lse, { causal: true });
      const want = [f.out, f.lse, g.dq, g.dk, g.dv].map((x) => x.toArray());
      for (const prec of ['highest', 'high', 'medium']) {
        cg.setMatmulPrecision(prec);
        const [qc, kc, vc, dc] = [q, k, v, d].map((x) => x.to('cuda'));
        const fc = attentionForward(qc, kc, vc, { causal: true });
        const gc = attentionBackward(dc, qc, kc, vc, fc.out, fc.lse, { causal: true });
        [fc.out, fc.lse, gc.dq, gc.dk, gc.dv].map((x) => x.toArray()).forEach((got, n) => {
          const [atol, rtol] = tols[prec][n < 2 ? 0 : 1];
          for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[n][i]) / (atol + rtol * Math.abs(want[n][i])));
        });
      }
    }
    console.log(JSON.stringify({ worst, optin: cg.devices().find((x) => x.type === 'cuda') }));`;
  for (const kb of [99, 64]) {
    const r = require('node:child_process').spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, CUDAGRAD_EMU_SMEM_OPTIN_KB: String(kb) } });
    t.equal(r.status, 0, `${kb} KiB: the child ran`, { stderr: r.stderr });
    const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    t.ok(res.worst <= 1, `${kb} KiB: every output of D = 32, 64, 96, 128 at every precision within tolerance (worst ${Number(res.worst).toFixed(3)} of it)`);
  }
});
