// Matrix products: matmul (torch.matmul semantics, batch dims broadcast),
// linear (x @ weight^T + bias with the bias and activation fused into the
// GEMM epilogue), their backward functions, and raw BLAS-style gemm.
// Autograd: matmul and linear record a node; a fused relu's gradient is taken
// from the output (relu(y) > 0 exactly where y > 0); other activations are
// applied as a separate op while recording, so that their backward sees the
// pre-activation.
import { checkOptions, describe, typeError } from '../errors';
import { isGradEnabled, record } from '../autograd';
import type { NativeHandle } from '../native';
import { Tensor } from '../tensor';
import { activation, activationBackward } from './activation';
import type { Activation } from './activation';
import { ACTIVATION_LIST, ACTIVATIONS } from './activation-names';
import { sum } from './reduce';
import { arg, int, num, ops, wrap } from './util';
import { anyBf16, viaFloat32 } from './cast';

const nat = ops<{
  matmul(a: NativeHandle, b: NativeHandle): NativeHandle;
  matmulBackward(dout: NativeHandle, a: NativeHandle, b: NativeHandle): [NativeHandle, NativeHandle];
  linear(x: NativeHandle, w: NativeHandle, bias: NativeHandle | null, act: string | null): NativeHandle;
  linearBackward(dout: NativeHandle, x: NativeHandle, w: NativeHandle, hasBias: boolean): [NativeHandle, NativeHandle, NativeHandle | null];
  gemm(a: NativeHandle, b: NativeHandle, c: NativeHandle, bias: NativeHandle | null, p: number[], act: string | null, preact: boolean): [NativeHandle, NativeHandle | null];
}>();

/**
 * Matrix product with torch.matmul semantics: 1-D x 1-D is a dot product (0-D result);
 * a 1-D operand is promoted to a matrix (a row for `a`, a column for `b`) and the added
 * dim removed from the result; leading batch dims broadcast, e.g.
 * (2, 1, 3, 4) @ (5, 4, 6) -> (2, 5, 3, 6). Broadcast operands are not copied.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (anyBf16([a, b])) return viaFloat32([a, b] as const, (a2, b2) => matmul(a2, b2));
  const fn = 'cudagrad.matmul';
  const out = wrap(nat.matmul(arg(fn, a, 'a'), arg(fn, b, 'b')));
  return record('matmul', out, [a, b], ([g]) => {
    if (!g) return [];
    const r = matmulBackward(g, a, b);
    return [r.da, r.db];
  });
}

/** Gradients of `matmul(a, b)` given dL/dout: each summed over the batch dims it was broadcast along. */
export function matmulBackward(dout: Tensor, a: Tensor, b: Tensor): { da: Tensor; db: Tensor } {
  const fn = 'cudagrad.matmul backward';
  const [da, db] = nat.matmulBackward(arg(fn, dout, 'dout'), arg(fn, a, 'a'), arg(fn, b, 'b'));
  return { da: wrap(da), db: wrap(db) };
}

export interface LinearOptions {
  /** Activation fused after the bias (default none). */
  activation?: Activation | null;
}

/**
 * y = act(x @ weight^T + bias): x (..., in), weight (out, in) (PyTorch layout), bias (out)
 * or null; y (..., out). Bias and activation run in the GEMM epilogue.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: LinearOptions = {}): Tensor {
  if (anyBf16([x, weight, bias])) return viaFloat32([x, weight, bias] as const, (x2, w2, b2) => linear(x2, w2, b2, opts));
  const fn = 'cudagrad.linear';
  const o = checkOptions(fn, opts, ['activation']);
  const act = o.activation ?? null;
  if (act !== null && typeof act !== 'string') throw typeError(fn, `activation must be a string, got ${describe(act)}`);
  const b = bias === undefined || bias === null ? null : bias;
  const hb = b === null ? null : arg(fn, b, 'bias');
  const hx = arg(fn, x, 'x');
  const hw = arg(fn, weight, 'weight');
  const recording = isGradEnabled() && [x, weight, b].some((t) => t instanceof Tensor && t.requiresGrad);
  if (recording && act !== null && act !== 'relu') {
    if (!ACTIVATIONS.includes(act as Activation)) throw typeError(fn, `unknown activation '${act}' (expected ${ACTIVATION_LIST})`);
    // The activation's backward needs the pre-activation: record it as its own op.
    return activation(act as Activation, linear(x, weight, b));
  }
  const out = wrap(nat.linear(hx, hw, hb, act));
  return record('linear', out, [x, weight, b], ([g]) => {
    if (!g) return [];
    const d = act === 'relu' ? activationBackward('relu', g, out) : g;
    try {
      if (!x.requiresGrad) return [null, ...weightGrads(d, x, weight, b !== null)];
      const r = linearBackward(d, x, weight, b !== null);
      return [r.dx, r.dweight, r.dbias];
    } finally {
      if (d !== g) d.dispose();
    }
  });
}

// dweight (out, in) = dout^T @ x and dbias = column sums of dout, without dx (the input
// needs no gradient: a first layer). One GEMM fewer than linearBackward: a third of the
// backward's work. (A native linearBackward without dx would also save the copy of c.)
function weightGrads(dout: Tensor, x: Tensor, weight: Tensor, hasBias: boolean): [Tensor, Tensor | null] {
  const [N, K] = weight.shape;
  const d2 = dout.ndim === 2 ? dout : dout.reshape(-1, N); // (M, N)
  const x2 = x.ndim === 2 ? x : x.reshape(-1, K); // (M, K)
  const M = d2.shape[0];
  const dw = gemm(d2, x2, weight, { transA: true, m: N, n: K, k: M }).out; // c = weight: shape only (beta 0)
  return [dw, hasBias ? sum(d2, 0) : null];
}

/**
 * Gradients of `linear(x, weight, bias)` (without activation: apply the activation's
 * backward to dout first): dx (..., in), dweight (out, in), dbias (out) when hasBias.
 */
export function linearBackward(dout: Tensor, x: Tensor, weight: Tensor, hasBias = false): { dx: Tensor; dweight: Tensor; dbias?: Tensor } {
  const fn = 'cudagrad.linear backward';
  const [dx, dw, db] = nat.linearBackward(arg(fn, dout, 'dout'), arg(fn, x, 'x'), arg(fn, weight, 'weight'), Boolean(hasBias));
  const out: { dx: Tensor; dweight: Tensor; dbias?: Tensor } = { dx: wrap(dx), dweight: wrap(dw) };
  if (db) out.dbias = wrap(db);
  return out;
}

export interface GemmOptions {
  transA?: boolean;
  transB?: boolean;
  m: number;
  n: number;
  k: number;
  alpha?: number;
  beta?: number;
  /** Leading dimensions (row strides); default dense: transA ? m : k, transB ? k : n, n. */
  lda?: number;
  ldb?: number;
  ldc?: number;
  /** Strided batch: count and element strides (default dense; 0 broadcasts a or b). */
  batch?: number;
  strideA?: number;
  strideB?: number;
  strideC?: number;
  /** Epilogue: bias (n) added to every row, then the activation. */
  bias?: Tensor | null;
  activation?: Activation | null;
  /** Also return the values before the activation. */
  preact?: boolean;
}

const gemmKeys = ['transA', 'transB', 'm', 'n', 'k', 'alpha', 'beta', 'lda', 'ldb', 'ldc', 'batch', 'strideA', 'strideB', 'strideC', 'bias', 'activation', 'preact'];

/**
 * BLAS-style GEMM over the flat storage of a, b and c (row-major):
 * for each batch item, C = act(alpha * op(A) @ op(B) + beta * C + bias), op(X) = X or X^T.
 * Returns a new tensor shaped like c (c itself is not modified); beta = 0 never reads c.
 */
export function gemm(a: Tensor, b: Tensor, c: Tensor, opts: GemmOptions): { out: Tensor; preact?: Tensor } {
  const fn = 'cudagrad.gemm';
  const o = checkOptions(fn, opts, gemmKeys) as Partial<GemmOptions>;
  const ta = Boolean(o.transA);
  const tb = Boolean(o.transB);
  const m = int(fn, o.m, 'm');
  const n = int(fn, o.n, 'n');
  const k = int(fn, o.k, 'k');
  const lda = o.lda === undefined ? Math.max(1, ta ? m : k) : int(fn, o.lda, 'lda');
  const ldb = o.ldb === undefined ? Math.max(1, tb ? k : n) : int(fn, o.ldb, 'ldb');
  const ldc = o.ldc === undefined ? Math.max(1, n) : int(fn, o.ldc, 'ldc');
  const p = [
    ta ? 1 : 0,
    tb ? 1 : 0,
    m,
    n,
    k,
    o.alpha === undefined ? 1 : num(fn, o.alpha, 'alpha'),
    o.beta === undefined ? 0 : num(fn, o.beta, 'beta'),
    lda,
    ldb,
    ldc,
    o.batch === undefined ? 1 : int(fn, o.batch, 'batch'),
    o.strideA === undefined ? (ta ? k : m) * lda : int(fn, o.strideA, 'strideA'),
    o.strideB === undefined ? (tb ? n : k) * ldb : int(fn, o.strideB, 'strideB'),
    o.strideC === undefined ? m * ldc : int(fn, o.strideC, 'strideC'),
  ];
  const bias = o.bias === undefined || o.bias === null ? null : arg(fn, o.bias, 'bias');
  const act = o.activation ?? null;
  const [out, pre] = nat.gemm(arg(fn, a, 'a'), arg(fn, b, 'b'), arg(fn, c, 'c'), bias, p, act, Boolean(o.preact));
  return pre ? { out: wrap(out), preact: wrap(pre) } : { out: wrap(out) };
}

declare module '../tensor' {
  interface Tensor {
    matmul(other: Tensor): Tensor;
  }
}

Tensor.prototype.matmul = function (this: Tensor, other: Tensor) {
  return matmul(this, other);
};
