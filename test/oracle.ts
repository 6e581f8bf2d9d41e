// Helpers for op tests: seeded inputs, float64 comparison with a stated
// tolerance (reporting the first mismatches and the max difference), central
// finite differences, and running a body at every SIMD level this CPU has.
import type { Test } from 'tap';

import * as cg from '../lib/index';

/** Deterministic uniform numbers in [lo, hi) (mulberry32), as float32-representable values. */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  let a = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = Math.fround(lo + (hi - lo) * u);
  }
  return out;
}

/** A float32 tensor holding `values` with `shape` (on `device`, default the default device). */
export function f32(values: ArrayLike<number>, shape: number[], device?: cg.Device): cg.Tensor {
  return cg.tensor(Float32Array.from(values), { shape, device });
}

/**
 * The devices an op test runs on: the CPU always; CUDA when a GPU (or the
 * SIMT emulator build) is present. One test body, every device.
 */
export function testDevices(): cg.Device[] {
  return cg.cuda.available() ? ['cpu', 'cuda'] : ['cpu'];
}

/**
 * Asserts |got - want| <= atol + rtol * |want| elementwise; on failure the
 * message lists the first mismatches and the max difference.
 */
export function assertClose(t: Test, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number, label: string): void {
  if (got.length !== want.length) {
    t.fail(`${label}: length ${got.length}, want ${want.length}`);
    return;
  }
  let maxDiff = 0;
  const bad: string[] = [];
  for (let i = 0; i < got.length; i++) {
    const g = got[i];
    const w = want[i];
    const d = Math.abs(g - w);
    const same = Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w));
    if (!same && Number.isFinite(d)) maxDiff = Math.max(maxDiff, d);
    if (!same && !(d <= atol + rtol * Math.abs(w))) {
      if (bad.length < 5) bad.push(`[${i}] got ${g} want ${w}`);
      else if (bad.length === 5) bad.push('...');
    }
  }
  t.ok(bad.length === 0, `${label} (atol ${atol}, rtol ${rtol}, max diff ${maxDiff.toExponential(2)})`, bad.length ? { mismatches: bad } : {});
}

/**
 * GEMM error factor at a matmul precision: the operands' input rounding
 * (TF32: 2^-11, bf16: 2^-8, twice) plus float32 accumulation over K; a result
 * may be off by this times the sum of |terms| (assertWithinScale's scale).
 */
export function gemmErrorFactor(K: number, prec: 'highest' | 'high' | 'medium'): number {
  const rounding = { highest: 0, high: 2 * 2 ** -11, medium: 2 * 2 ** -8 }[prec];
  return rounding + (8 * Math.sqrt(K) + 8) * 2 ** -24;
}

/** Asserts |got - want| <= f * scale[i] elementwise; reports the worst ratio to the tolerance. */
export function assertWithinScale(t: Test, got: ArrayLike<number>, want: ArrayLike<number>, scale: ArrayLike<number>, f: number, label: string): void {
  const bad: string[] = [];
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    const tol = f * scale[i] + 1e-30;
    worst = Math.max(worst, d / tol);
    if (!(d <= tol) && bad.length < 5) bad.push(`[${i}] got ${got[i]} want ${want[i]}`);
  }
  t.ok(got.length === want.length && bad.length === 0, `${label} (max err ${worst.toFixed(3)} of tolerance)`, bad.length ? { mismatches: bad } : {});
}

/**
 * Central finite differences of a scalar function of `x` (float64 steps on
 * float32 inputs): d f / d x_i ~ (f(x + h e_i) - f(x - h e_i)) / 2h.
 */
export function numericGrad(f: (x: Float64Array) => number, x: Float64Array, h = 1e-2): Float64Array {
  const g = new Float64Array(x.length);
  const xp = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    xp[i] = x[i] + h;
    const fp = f(xp);
    xp[i] = x[i] - h;
    const fm = f(xp);
    xp[i] = x[i];
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** sum_i w_i * out_i in float64: the scalar whose gradient w.r.t. out is w. */
export function dot(out: ArrayLike<number>, w: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i] * w[i];
  return s;
}

/** Runs `body` once per SIMD level the CPU supports (scalar first), restoring the level after. */
export async function forEachSimd(t: Test, body: (t: Test, level: cg.SimdLevel) => void | Promise<void>): Promise<void> {
  const cpu = cg.devices()[0];
  if (cpu.type !== 'cpu') throw new Error('first device is not the CPU');
  const order: cg.SimdLevel[] = ['scalar', 'avx2', 'avx512'];
  const levels = order.slice(0, order.indexOf(cpu.simdDetected) + 1);
  try {
    for (const level of levels) {
      cg.setSimdLevel(level);
      await t.test(`simd ${level}`, async (t) => body(t, level));
    }
  } finally {
    cg.setSimdLevel(cpu.simd);
  }
}

/** Odd sizes, not multiples of any vector width or tile. */
export const ODD_SIZES = [1, 7, 33, 257];

// --- NumPy broadcasting, for references computed element by element

/** Elements of a shape. */
export const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** NumPy's broadcast of two shapes. */
export function bshape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Flat index into `shape` (right-aligned, size-1 dims broadcast) of each element of the broadcast output `out`. */
export function bindex(out: readonly number[], shape: readonly number[]): Int32Array {
  const n = size(out);
  const idx = new Int32Array(n);
  const off = out.length - shape.length;
  for (let i = 0; i < n; i++) {
    let rest = i;
    let flat = 0;
    let mul = 1;
    for (let d = out.length - 1; d >= 0; d--) {
      const c = rest % out[d];
      rest = Math.floor(rest / out[d]);
      if (d >= off) {
        const s = shape[d - off];
        if (s !== 1) flat += c * mul;
        mul *= s;
      }
    }
    idx[i] = flat;
  }
  return idx;
}

const f32Bits = new Uint32Array(1);
const f32View = new Float32Array(f32Bits.buffer);

/** The float32 value with bit pattern `bits`. */
export function fromF32Bits(bits: number): number {
  f32Bits[0] = bits >>> 0;
  return f32View[0];
}

/** The bit pattern of float32 value x (x must be float32-representable). */
export function f32BitsOf(x: number): number {
  f32View[0] = x;
  return f32Bits[0];
}

/**
 * float32 value x rounded to bfloat16 (8 significand bits), from the IEEE
 * rule rather than the kernels' bit trick: of the two bf16 neighbours of x
 * the nearer (in float64), a tie to the one with an even last bit; beyond the
 * largest bf16 by half an ulp or more, infinity. NaN stays NaN.
 */
export function bf16Round(x: number): number {
  if (Number.isNaN(x) || !Number.isFinite(x)) return x;
  const bits = f32BitsOf(x);
  const lo = (bits & 0xffff0000) >>> 0;
  const hi = (lo + 0x10000) >>> 0;
  const vlo = fromF32Bits(lo);
  const top = (hi & 0x7fffffff) === 0x7f800000;
  const vhi = top ? Math.sign(x) * 2 ** 128 : fromF32Bits(hi);
  const dlo = Math.abs(x - vlo);
  const dhi = Math.abs(vhi - x);
  const pickHi = dhi < dlo || (dhi === dlo && (lo & 0x10000) !== 0);
  return pickHi ? fromF32Bits(hi) : vlo;
}
