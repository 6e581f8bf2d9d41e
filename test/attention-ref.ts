// Shared by the attention tests (attention.test.ts, attention-cuda.test.ts):
// the float64 reference with the whole score matrix, seeded inputs with
// key-padding masks, and one case checked on a device against the reference.
// Tolerances (|got - want| <= atol + rtol |want|), inputs of size ~1:
//   CPU and CUDA 'highest' (float32): out 1e-5 + 1e-4 rel, lse 1e-5 + 1e-5
//     rel, gradients 3e-5 + 3e-4 rel (float32 sums over D and Tk of terms of
//     size ~1; observed max differences ~1e-6);
//   CUDA 'high' (TF32 tensor cores, operands rounded to 10 mantissa bits, 2^-11
//     relative): logits err <= 2^-10 sum_d |q_d k_d| / sqrt(D) ~ 0.6 sqrt(D)
//     2^-10 <= 7e-3 at D = 128: out and lse 5e-3 + 5e-3 rel, gradients
//     1e-2 + 1e-2 rel (observed <= 9e-4 under the emulator);
//   CUDA 'medium' (bf16 operands, 7 mantissa bits, 2^-8 relative; P rounded
//     to bf16 for P V): 8x the TF32 logits bound: out and lse 3e-2 + 3e-2
//     rel, gradients 8e-2 + 8e-2 rel (observed <= 5.5e-3).
import type { Test } from 'tap';

import * as cg from '../lib/index';
import { attentionBackward, attentionForward } from '../lib/ops/attention';
import { assertClose, f32, forEachSimd, testDevices, uniform } from './oracle';

export type Mask = { kind: 'float' | 'int'; values: Float64Array } | null;

export interface Case {
  B: number;
  H: number;
  Tq: number;
  Tk: number;
  D: number;
  causal: boolean;
  mask: 'none' | 'float' | 'int' | 'float-dead' | 'int-dead';
}

/** Key-padding mask values for (B, Tk): random exclusions, plus a fully excluded batch row for '*-dead'. */
export function makeMask(c: Case, seed: number): Mask {
  if (c.mask === 'none') return null;
  const u = uniform(c.B * c.Tk, seed);
  const dead = c.mask.endsWith('dead');
  const vals = new Float64Array(c.B * c.Tk);
  for (let i = 0; i < vals.length; i++) {
    const b = Math.floor(i / c.Tk);
    const excluded = (dead && b === c.B - 1) || u[i] > 0.6;
    if (c.mask.startsWith('int')) vals[i] = excluded ? 0 : u[i] < -0.5 ? 7 : 1;  // any nonzero attends
    else vals[i] = excluded ? -Infinity : u[i] < 0 ? Math.fround(2 * u[i]) : 0;
  }
  return { kind: c.mask.startsWith('int') ? 'int' : 'float', values: vals };
}

export function maskTensor(c: Case, m: Mask, device?: cg.Device): cg.Tensor | null {
  if (!m) return null;
  return m.kind === 'int' ? cg.tensor(Int32Array.from(m.values), { shape: [c.B, c.Tk], device }) : f32(m.values, [c.B, c.Tk], device);
}

/** Float64 attention with the whole score matrix: out, lse and (given dout) dq, dk, dv. */
export function reference(c: Case, q: Float64Array, k: Float64Array, v: Float64Array, m: Mask, dout?: Float64Array) {
  const { B, H, Tq, Tk, D, causal } = c;
  const scale = 1 / Math.sqrt(D);
  const out = new Float64Array(B * H * Tq * D);
  const lse = new Float64Array(B * H * Tq);
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  const p = new Float64Array(Tk);
  const dp = new Float64Array(Tk);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const qo = (b * H + h) * Tq * D;
      const ko = (b * H + h) * Tk * D;
      for (let i = 0; i < Tq; i++) {
        let mx = -Infinity;
        for (let j = 0; j < Tk; j++) {
          let s = -Infinity;
          const mv = m ? (m.kind === 'int' ? (m.values[b * Tk + j] !== 0 ? 0 : -Infinity) : m.values[b * Tk + j]) : 0;
          if ((!causal || j <= i + Tk - Tq) && mv !== -Infinity) {
            s = 0;
            for (let d = 0; d < D; d++) s += q[qo + i * D + d] * k[ko + j * D + d];
            s = s * scale + mv;
          }
          p[j] = s;
          mx = Math.max(mx, s);
        }
        const row = (b * H + h) * Tq + i;
        if (mx === -Infinity) {
          lse[row] = Infinity;  // no key: out and gradients stay 0
          continue;
        }
        let sum = 0;
        for (let j = 0; j < Tk; j++) sum += (p[j] = Math.exp(p[j] - mx));
        lse[row] = mx + Math.log(sum);
        for (let j = 0; j < Tk; j++) {
          p[j] /= sum;
          for (let d = 0; d < D; d++) out[qo + i * D + d] += p[j] * v[ko + j * D + d];
        }
        if (!dout) continue;
        let delta = 0;
        for (let j = 0; j < Tk; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) {
            s += dout[qo + i * D + d] * v[ko + j * D + d];
            dv[ko + j * D + d] += p[j] * dout[qo + i * D + d];
          }
          dp[j] = s;
          delta += p[j] * s;
        }
        for (let j = 0; j < Tk; j++) {
          const ds = p[j] * (dp[j] - delta) * scale;
          if (ds === 0) continue;
          for (let d = 0; d < D; d++) {
            dq[qo + i * D + d] += ds * k[ko + j * D + d];
            dk[ko + j * D + d] += ds * q[qo + i * D + d];
          }
        }
      }
    }
  return { out, lse, dq, dk, dv };
}

export function inputs(c: Case, seed: number) {
  const q = uniform(c.B * c.H * c.Tq * c.D, seed, -1.5, 1.5);
  const k = uniform(c.B * c.H * c.Tk * c.D, seed + 1, -1.5, 1.5);
  const v = uniform(c.B * c.H * c.Tk * c.D, seed + 2);
  const dout = uniform(c.B * c.H * c.Tq * c.D, seed + 3);
  return { q, k, v, dout, mask: makeMask(c, seed + 4) };
}

export const label = (c: Case) => `B${c.B} H${c.H} Tq${c.Tq} Tk${c.Tk} D${c.D}${c.causal ? ' causal' : ''} mask ${c.mask}`;

export type Reference = ReturnType<typeof reference>;

/** [atol, rtol] per output kind. */
export interface Tol {
  out: [number, number];
  lse: [number, number];
  grad: [number, number];
}
export const CPU_TOL: Tol = { out: [1e-5, 1e-4], lse: [1e-5, 1e-5], grad: [3e-5, 3e-4] };
export const CUDA_TOL: Record<cg.MatmulPrecision, Tol> = {
  highest: CPU_TOL,
  high: { out: [5e-3, 5e-3], lse: [5e-3, 5e-3], grad: [1e-2, 1e-2] },
  medium: { out: [3e-2, 3e-2], lse: [3e-2, 3e-2], grad: [8e-2, 8e-2] },
};

/** Runs the kernels on case c on `device` and checks every output against the reference. */
export function checkCase(t: Test, c: Case, seed: number, ref?: Reference, device: cg.Device = 'cpu', tol: Tol = CPU_TOL, tag = '') {
  const x = inputs(c, seed);
  const want = ref ?? reference(c, x.q, x.k, x.v, x.mask, x.dout);
  const qs = [c.B, c.H, c.Tq, c.D];
  const ks = [c.B, c.H, c.Tk, c.D];
  const [q, k, v, dout] = [f32(x.q, qs, device), f32(x.k, ks, device), f32(x.v, ks, device), f32(x.dout, qs, device)];
  const opts = { causal: c.causal, mask: maskTensor(c, x.mask, device) };
  const { out, lse } = attentionForward(q, k, v, opts);
  t.same(out.shape, qs);
  t.same(lse.shape, [c.B, c.H, c.Tq]);
  const name = `${label(c)}${tag}`;
  assertClose(t, out.toArray(), want.out, ...tol.out, `out ${name}`);
  assertClose(t, lse.toArray(), want.lse, ...tol.lse, `lse ${name}`);
  const g = attentionBackward(dout, q, k, v, out, lse, opts);
  assertClose(t, g.dq.toArray(), want.dq, ...tol.grad, `dq ${name}`);
  assertClose(t, g.dk.toArray(), want.dk, ...tol.grad, `dk ${name}`);
  assertClose(t, g.dv.toArray(), want.dv, ...tol.grad, `dv ${name}`);
  return want;
}

/**
 * Runs `body` on every test device: the CPU at every SIMD level, CUDA (a GPU
 * or the SIMT emulator) at every matmul precision with its tolerances.
 */
export async function forEachDevice(t: Test, body: (t: Test, device: cg.Device, tol: Tol, tag: string) => void | Promise<void>): Promise<void> {
  for (const device of testDevices()) {
    if (device === 'cpu') {
      await forEachSimd(t, (t, level) => body(t, 'cpu', CPU_TOL, ` (cpu ${level})`));
      continue;
    }
    const before = cg.getMatmulPrecision();
    try {
      for (const prec of ['highest', 'high', 'medium'] as cg.MatmulPrecision[]) {
        cg.setMatmulPrecision(prec);
        await t.test(`${device} ${prec}`, async (t) => body(t, device, CUDA_TOL[prec], ` (${device} ${prec})`));
      }
    } finally {
      cg.setMatmulPrecision(before);
    }
  }
}
