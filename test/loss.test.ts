// Cross-entropy forward and backward: float64 oracle at every SIMD level and
// on every device (all reductions, ignored rows; CUDA: warp rows, block rows up
// to the GPT-2 vocabulary), the fused kernel against its unfused composition
// (logSoftmax + gather + mean), finite differences, edge cases, bad input
// (CUDA targets: checked on the device, raised at the next sync).
import t from 'tap';
import type { Test } from 'tap';

import * as cg from '../lib/index';
import { crossEntropyBackward, Reduction } from '../lib/ops/loss';
import { logSoftmaxBackward } from '../lib/ops/softmax';
import { countCalls } from './helpers';
import { assertClose, f32, forEachSimd, numericGrad, ODD_SIZES, testDevices, uniform } from './oracle';

const IGN = -100;

function refLosses(x: ArrayLike<number>, tg: ArrayLike<number>, N: number, C: number, ignore = IGN): Float64Array {
  const out = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    if (tg[n] === ignore) continue;
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, x[n * C + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(x[n * C + c] - m);
    out[n] = m + Math.log(s) - x[n * C + tg[n]];
  }
  return out;
}

function count(tg: ArrayLike<number>, ignore = IGN): number {
  return Array.from(tg).filter((v) => v !== ignore).length;
}

function refReduce(losses: Float64Array, tg: ArrayLike<number>, red: Reduction): number[] {
  if (red === 'none') return Array.from(losses);
  const s = losses.reduce((a, b) => a + b, 0);
  const k = count(tg);
  return [red === 'sum' ? s : k ? s / k : 0];
}

// dlogits for per-row upstream gradients g[n] (already including 1/count for mean).
function refGrad(x: ArrayLike<number>, tg: ArrayLike<number>, g: ArrayLike<number>, N: number, C: number): Float64Array {
  const out = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    if (tg[n] === IGN) continue;
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, x[n * C + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(x[n * C + c] - m);
    for (let c = 0; c < C; c++) out[n * C + c] = (Math.exp(x[n * C + c] - m) / s - (c === tg[n] ? 1 : 0)) * g[n];
  }
  return out;
}

function targets(N: number, C: number, seed: number, ignoreEvery = 4): Int32Array {
  const u = uniform(N, seed, 0, 1);
  return Int32Array.from(u, (v, n) => (n % ignoreEvery === 1 ? IGN : Math.min(C - 1, Math.floor(v * C))));
}

const i32 = (v: ArrayLike<number>, device?: cg.Device) => cg.tensor(Int32Array.from(v), { shape: [v.length], device });

function checkShapes(t: Test, shapes: [number, number][], seed: number, device: cg.Device = 'cpu'): void {
  for (const [N, C] of shapes) {
    const xv = uniform(N * C, seed++, -10, 10);
    for (let c = 0; c < C; c++) xv[c] += 200; // a row far from zero
    const tg = targets(N, C, seed++);
    const x = f32(xv, [N, C], device);
    const tt = i32(tg, device);
    const losses = refLosses(xv, tg, N, C);
    for (const red of ['mean', 'sum', 'none'] as Reduction[]) {
      const label = `${device === 'cpu' ? '' : `${device} `}N=${N} C=${C} ${red}`;
      assertClose(t, cg.crossEntropy(x, tt, { reduction: red }).toArray(), refReduce(losses, tg, red), 1e-5, 1e-5, `forward ${label}`);
      const dv = red === 'none' ? uniform(N, seed++, -2, 2) : Float64Array.of(0.75);
      const k = count(tg);
      const g = Array.from({ length: N }, (_, n) => (red === 'none' ? dv[n] : red === 'mean' ? 0.75 / k : 0.75));
      const dloss = red === 'none' ? f32(dv, [N], device) : 0.75;
      assertClose(t, crossEntropyBackward(dloss, x, tt, { reduction: red }).toArray(), refGrad(xv, tg, g, N, C), 1e-6, 1e-4, `backward ${label}`);
    }
  }
}

t.test('forward and backward match the float64 reference at every SIMD level', (t) =>
  forEachSimd(t, (t) => {
    const shapes: [number, number][] = [];
    for (const C of ODD_SIZES) for (const N of [1, 7, 33]) shapes.push([N, C]);
    shapes.push([3, 4099]);
    checkShapes(t, shapes, 1);
  }),
);

// CUDA: a warp per row up to C = 1024, a block per row above (256 / 512 / 1024 threads), rows
// off a 16-byte boundary for odd C, the GPT-2 vocabulary. Tolerances as the CPU's: they cover
// the GPU's expf / logf (2 ulp / 1 ulp) as well as the emulator's libm.
t.test('every device matches the float64 reference (CUDA when present)', async (t) => {
  const shapes: [number, number][] = [[1, 1], [7, 33], [9, 256], [33, 257], [5, 1024], [6, 1025], [3, 4099], [2, 8200], [2, 50257]];
  for (const device of testDevices()) checkShapes(t, shapes, 700, device);
});

t.test('CUDA targets are checked on the device: RangeError at the next sync', async (t) => {
  if (!cg.cuda.available()) return;
  for (const C of [4, 1500]) {
    const x = cg.randn([3, C], { seed: 2, device: 'cuda' });
    const bad = i32([0, C, IGN], 'cuda');
    const msg = `cudagrad.crossEntropy: index ${C} is out of range [0, ${C}) at position 1 (detected on the GPU)`;
    const loss = cg.crossEntropy(x, bad); // no host read of the targets: no error yet
    t.throws(() => loss.toArray(), { name: 'RangeError', message: msg }, `C=${C} forward`);
    const none = cg.crossEntropy(x, i32([-1, 0, 1], 'cuda'), { reduction: 'none' });
    t.throws(() => none.toArray(), { name: 'RangeError', message: `cudagrad.crossEntropy: index -1 is out of range [0, ${C}) at position 0 (detected on the GPU)` });
    const g = crossEntropyBackward(1, x, bad);
    t.throws(() => g.toArray(), { name: 'RangeError', message: msg }, `C=${C} backward`);
    // The error is raised once; the device then works normally.
    t.equal(cg.crossEntropy(x, i32([IGN, IGN, IGN], 'cuda')).item(), 0);
  }
});

t.test('fused kernel equals the unfused logSoftmax + gather + mean', async (t) => {
  const N = 33;
  const C = 257;
  const xv = uniform(N * C, 50, -5, 5);
  const tg = targets(N, C, 51, 5);
  const x = f32(xv, [N, C]);
  const ls = cg.logSoftmax(x);
  const lsv = ls.toArray();
  const k = count(tg);
  let s = 0;
  for (let n = 0; n < N; n++) if (tg[n] !== IGN) s -= lsv[n * C + tg[n]];
  assertClose(t, [cg.crossEntropy(x, i32(tg)).item()], [s / k], 1e-6, 1e-6, 'forward');
  // d(-mean gathered)/d logSoftmax, then logSoftmax backward.
  const dls = new Float32Array(N * C);
  for (let n = 0; n < N; n++) if (tg[n] !== IGN) dls[n * C + tg[n]] = -1 / k;
  const unfused = logSoftmaxBackward(cg.tensor(dls, { shape: [N, C] }), ls).toArray();
  assertClose(t, crossEntropyBackward(1, x, i32(tg)).toArray(), unfused, 1e-7, 1e-4, 'backward');
});

// A differentiated mean/sum loss gets dlogits from the forward's own pass over
// the logits (crossEntropyWithGrad); backward() seeds the loss with 1 and takes
// that gradient as is. Any other upstream gradient (a scaled loss, an explicit
// gradient, a second backward through a retained graph) recomputes.
t.test('autograd: the forward computes the gradient for dloss = 1 in the same pass', async (t) => {
  const spy = countCalls(['crossEntropy', 'crossEntropyWithGrad', 'crossEntropyBackward']);
  t.teardown(spy.restore);
  const c = spy.counts;
  const calls = () => [c.crossEntropy, c.crossEntropyWithGrad, c.crossEntropyBackward];
  let seed = 900;
  for (const device of testDevices())
    for (const [N, C] of [[7, 33], [6, 1025], [2, 50257]] as [number, number][]) {
      const xv = uniform(N * C, seed++, -6, 6);
      const tg = targets(N, C, seed++);
      const x = cg.tensor(Float32Array.from(xv), { shape: [N, C], device, requiresGrad: true });
      const tt = i32(tg, device);
      const losses = refLosses(xv, tg, N, C);
      for (const red of ['mean', 'sum'] as Reduction[]) {
        const label = `${device} N=${N} C=${C} ${red}`;
        const k = red === 'mean' ? 1 / count(tg) : 1;
        const ref = (scale: number) => refGrad(xv, tg, new Array(N).fill(k * scale), N, C);
        let before = calls();
        const loss = cg.crossEntropy(x, tt, { reduction: red });
        assertClose(t, [loss.item()], refReduce(losses, tg, red), 1e-5, 1e-5, `forward ${label}`);
        t.equal(loss.item(), cg.noGrad(() => cg.crossEntropy(x, tt, { reduction: red })).item(), `${label}: same loss bits as the forward alone`);
        x.grad = null;
        loss.backward();
        assertClose(t, x.grad!.toArray(), ref(1), 1e-6, 1e-4, `backward ${label}`);
        t.same(calls().map((v, i) => v - before[i]), [1, 1, 0], `${label}: one fused call, no backward kernel`);

        before = calls();
        x.grad = null;
        cg.crossEntropy(x, tt, { reduction: red }).mul(3).backward();
        assertClose(t, x.grad!.toArray(), ref(3), 1e-6, 1e-4, `loss * 3 ${label}`);
        t.same(calls().map((v, i) => v - before[i]), [0, 1, 1], `${label}: dloss 3 recomputes`);

        x.grad = null;
        const twice = cg.crossEntropy(x, tt, { reduction: red });
        twice.backward(null, { retainGraph: true });
        twice.backward();
        assertClose(t, x.grad!.toArray(), ref(2), 1e-6, 1e-4, `retained graph, two backwards ${label}`);

        x.grad = null;
        cg.crossEntropy(x, tt, { reduction: red }).backward(cg.full([], 0.5, { device }));
        assertClose(t, x.grad!.toArray(), ref(0.5), 1e-6, 1e-4, `explicit gradient 0.5 ${label}`);
      }
      // No graph (noGrad, or logits without requiresGrad) or a per-row loss: the forward alone.
      const before = calls();
      cg.noGrad(() => cg.crossEntropy(x, tt));
      cg.crossEntropy(x.detach(), tt);
      cg.crossEntropy(x, tt, { reduction: 'none' });
      t.same(calls().map((v, i) => v - before[i]), [3, 0, 0], `${device} N=${N} C=${C}: no fused call without a scalar loss to differentiate`);
    }
});

t.test('backward agrees with central finite differences', async (t) => {
  const N = 4;
  const C = 5;
  const xv = uniform(N * C, 60, -2, 2);
  const tg = [3, IGN, 0, 4];
  for (const red of ['mean', 'sum'] as Reduction[]) {
    const loss = (x: Float64Array) => cg.crossEntropy(f32(x, [N, C]), i32(tg), { reduction: red }).item();
    const got = crossEntropyBackward(1, f32(xv, [N, C]), i32(tg), { reduction: red }).toArray();
    assertClose(t, got, numericGrad(loss, xv, 1e-2), 1e-3, 1e-2, `${red}: analytic vs numeric`);
  }
});

t.test('edge cases: ignoreIndex, all ignored, empty, dloss tensor', async (t) => {
  const x = cg.randn([3, 4], { seed: 1 });
  // All rows ignored: loss 0 (not NaN), gradient 0 (as PyTorch's).
  const all = i32([IGN, IGN, IGN]);
  t.equal(cg.crossEntropy(x, all).item(), 0);
  t.same(Array.from(crossEntropyBackward(1, x, all).toArray()), new Array(12).fill(0));
  t.equal(cg.crossEntropy(x, all, { reduction: 'sum' }).item(), 0);
  // A custom ignoreIndex; -100 then is an ordinary (out-of-range) value.
  const tg = i32([2, 7, 0]);
  const want = refLosses(x.toArray(), [2, 7, 0], 3, 4, 7);
  assertClose(t, [cg.crossEntropy(x, tg, { ignoreIndex: 7 }).item()], [(want[0] + want[2]) / 2], 1e-6, 1e-6, 'ignoreIndex 7');
  // Empty batch.
  t.equal(cg.crossEntropy(cg.zeros([0, 5]), cg.zeros([0], { dtype: 'int32' })).item(), 0);
  t.same(cg.crossEntropy(cg.zeros([0, 5]), cg.zeros([0], { dtype: 'int32' }), { reduction: 'none' }).shape, [0]);
  t.same(crossEntropyBackward(1, cg.zeros([0, 5]), cg.zeros([0], { dtype: 'int32' })).shape, [0, 5]);
  // Output shapes; dloss as a tensor equals dloss as a number.
  t.same(cg.crossEntropy(x, i32([0, 1, 2])).shape, []);
  assertClose(t, crossEntropyBackward(cg.tensor([2]), x, i32([0, 1, 2])).toArray(), crossEntropyBackward(2, x, i32([0, 1, 2])).toArray(), 0, 0, 'dloss tensor');
  // C = 1: loss 0, gradient 0.
  t.same(Array.from(cg.crossEntropy(cg.tensor([[5], [-3]]), i32([0, 0]), { reduction: 'none' }).toArray()), [0, 0]);
  t.same(Array.from(crossEntropyBackward(1, cg.tensor([[5], [-3]]), i32([0, 0])).toArray()), [0, 0]);
});

t.test('every device: all ignored, custom ignoreIndex, empty batch, C = 1', async (t) => {
  for (const device of testDevices()) {
    const x = cg.randn([3, 4], { seed: 1, device });
    const all = i32([IGN, IGN, IGN], device);
    t.equal(cg.crossEntropy(x, all).item(), 0, `${device}: all ignored, mean`);
    t.same(Array.from(crossEntropyBackward(1, x, all).toArray()), new Array(12).fill(0), `${device}: all ignored, gradient`);
    const want = refLosses(x.toArray(), [2, 7, 0], 3, 4, 7);
    assertClose(t, [cg.crossEntropy(x, i32([2, 7, 0], device), { ignoreIndex: 7 }).item()], [(want[0] + want[2]) / 2], 1e-6, 1e-6, `${device}: ignoreIndex 7`);
    const e = cg.zeros([0, 5], { device });
    const et = cg.zeros([0], { dtype: 'int32', device });
    t.equal(cg.crossEntropy(e, et).item(), 0, `${device}: empty batch`);
    t.same(crossEntropyBackward(1, e, et).shape, [0, 5]);
    const one = cg.tensor([[5], [-3]], { device });
    t.same(Array.from(cg.crossEntropy(one, i32([0, 0], device), { reduction: 'none' }).toArray()), [0, 0], `${device}: C = 1`);
    t.same(Array.from(crossEntropyBackward(1, one, i32([0, 0], device)).toArray()), [0, 0]);
  }
});

t.test('bad input: the same errors whether or not the loss will be differentiated (fused path)', async (t) => {
  for (const requiresGrad of [false, true]) {
    const x = cg.zeros([3, 4], { requiresGrad });
    t.throws(() => cg.crossEntropy(x, i32([0, 4, 1])), { name: 'RangeError', message: 'cudagrad.crossEntropy: target 4 at row 1 is out of range for 4 classes (expected 0..3 or ignoreIndex -100)' });
    t.throws(() => cg.crossEntropy(x, i32([0, 1])), { name: 'RangeError', message: 'cudagrad.crossEntropy: targets must have shape [3] for logits of shape [3, 4], got [2]' });
    t.throws(() => cg.crossEntropy(x, cg.tensor([0, 1, 2])), { name: 'TypeError', message: 'cudagrad.crossEntropy: targets must be int32, got float32 tensor of shape [3]' });
    t.throws(() => cg.crossEntropy(cg.zeros([3], { requiresGrad }), i32([0, 1, 2])), { name: 'RangeError', message: 'cudagrad.crossEntropy: logits must be 2-D (N, C), got shape [3]' });
  }
});

t.test('bad input', async (t) => {
  const x = cg.zeros([3, 4]);
  t.throws(() => cg.crossEntropy(x, i32([0, 4, 1])), { name: 'RangeError', message: 'cudagrad.crossEntropy: target 4 at row 1 is out of range for 4 classes (expected 0..3 or ignoreIndex -100)' });
  t.throws(() => cg.crossEntropy(x, i32([0, 1, -1])), { name: 'RangeError', message: 'cudagrad.crossEntropy: target -1 at row 2 is out of range for 4 classes (expected 0..3 or ignoreIndex -100)' });
  t.throws(() => crossEntropyBackward(1, x, i32([-100, 1, 2]), { ignoreIndex: 9 }), { name: 'RangeError', message: 'cudagrad.crossEntropy backward: target -100 at row 0 is out of range for 4 classes (expected 0..3 or ignoreIndex 9)' });
  t.throws(() => cg.crossEntropy(x, cg.zeros([3])), { name: 'TypeError', message: 'cudagrad.crossEntropy: targets must be int32, got float32 tensor of shape [3]' });
  t.throws(() => cg.crossEntropy(cg.zeros([3, 4], { dtype: 'int32' }), i32([0, 0, 0])), { name: 'TypeError', message: 'cudagrad.crossEntropy: logits must be float32, got int32 tensor of shape [3, 4]' });
  t.throws(() => cg.crossEntropy(cg.zeros([2, 3, 4]), i32([0, 0])), { name: 'RangeError', message: 'cudagrad.crossEntropy: logits must be 2-D (N, C), got shape [2, 3, 4]' });
  t.throws(() => cg.crossEntropy(x, i32([0, 0])), { name: 'RangeError', message: 'cudagrad.crossEntropy: targets must have shape [3] for logits of shape [3, 4], got [2]' });
  t.throws(() => crossEntropyBackward(cg.zeros([2]), x, i32([0, 0, 0])), { name: 'RangeError', message: 'cudagrad.crossEntropy backward: dloss must have one element (reduction mean), got shape [2]' });
  t.throws(() => crossEntropyBackward(cg.zeros([1]), x, i32([0, 0, 0]), { reduction: 'none' }), { name: 'RangeError', message: 'cudagrad.crossEntropy backward: dloss must have shape [3] (reduction none), got [1]' });
  t.throws(() => cg.crossEntropy(x, i32([0, 0, 0]), { reduction: 'avg' as never }), { name: 'TypeError', message: "cudagrad.crossEntropy: reduction must be 'mean', 'sum' or 'none', got the string 'avg'" });
  t.throws(() => cg.crossEntropy(x, i32([0, 0, 0]), { ignoreIndex: 0.5 }), { name: 'TypeError', message: 'cudagrad.crossEntropy: ignoreIndex must be an integer, got number 0.5' });
  t.throws(() => cg.crossEntropy(x, i32([0, 0, 0]), { ignore: 1 } as never), { name: 'TypeError', message: "cudagrad.crossEntropy: unknown option 'ignore' (expected one of ignoreIndex, reduction)" });
  t.throws(() => crossEntropyBackward('1' as never, x, i32([0, 0, 0])), { name: 'TypeError', message: "cudagrad.crossEntropy backward: dloss must be a number, got the string '1'" });
});
