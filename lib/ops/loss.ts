// Cross-entropy fused with log-softmax: logits (N, C) float32, targets (N)
// int32. Rows whose target is ignoreIndex (default -100) are left out; other
// targets must lie in [0, C) (else a RangeError naming the row and value).
// reduction 'mean' (default) averages over the non-ignored rows and gives 0
// when every row is ignored (PyTorch 1.13 gives NaN); 'sum' adds them; 'none'
// returns the per-row losses (N), 0 at ignored rows.
import { full } from '../creation';
import { checkOptions, describe, typeError } from '../errors';
import { isUnitSeed, record, willRecord } from '../autograd';
import type { NativeHandle } from '../native';
import { Tensor } from '../tensor';
import { arg, int, num, ops, wrap } from './util';
import { anyBf16, viaFloat32 } from './cast';

export type Reduction = 'mean' | 'sum' | 'none';

export interface CrossEntropyOptions {
  /** Target value whose rows are ignored (default -100). */
  ignoreIndex?: number;
  /** 'mean' (default), 'sum' or 'none' (per-row losses). */
  reduction?: Reduction;
}

type H = NativeHandle;
const nat = ops<{
  crossEntropy(logits: H, targets: H, ignoreIndex: number, reduction: Reduction): H;
  crossEntropyBackward(dloss: H, logits: H, targets: H, ignoreIndex: number, reduction: Reduction): H;
  crossEntropyWithGrad(logits: H, targets: H, ignoreIndex: number, reduction: Reduction): [H, H];
}>();

function parse(fn: string, opts: unknown): { ignoreIndex: number; reduction: Reduction } {
  const o = checkOptions(fn, opts, ['ignoreIndex', 'reduction']);
  const ignoreIndex = o.ignoreIndex === undefined ? -100 : int(fn, o.ignoreIndex, 'ignoreIndex');
  const reduction = o.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none')
    throw typeError(fn, `reduction must be 'mean', 'sum' or 'none', got ${describe(reduction)}`);
  return { ignoreIndex, reduction };
}

/** -log softmax(logits)[target] per row, reduced (default: mean over non-ignored rows). */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  if (anyBf16([logits])) return viaFloat32([logits] as const, (l2) => crossEntropy(l2, targets, opts));
  const fn = 'cudagrad.crossEntropy';
  const p = parse(fn, opts);
  const lh = arg(fn, logits, 'logits');
  const th = arg(fn, targets, 'targets');
  if (p.reduction === 'none' || !willRecord([logits])) {
    const out = wrap(nat.crossEntropy(lh, th, p.ignoreIndex, p.reduction));
    return record('crossEntropy', out, [logits], ([g]) => [g && crossEntropyBackward(g, logits, targets, opts)]);
  }
  // A scalar loss that will be differentiated: the gradient for dloss = 1 comes
  // out of the same pass over the logits. backward() seeds the loss with 1 when
  // it is the root, which takes it as is; any other dloss recomputes.
  const [lossH, dH] = nat.crossEntropyWithGrad(lh, th, p.ignoreIndex, p.reduction);
  const out = wrap(lossH);
  let unit: Tensor | null = wrap(dH);
  return record('crossEntropy', out, [logits], ([g]) => {
    const d = unit;
    unit = null;
    if (g && d && !d.isDisposed && isUnitSeed(g)) return [d];
    d?.dispose();
    return [g && crossEntropyBackward(g, logits, targets, opts)];
  });
}

/**
 * dlogits = (softmax(logits) - onehot(targets)) * dloss (/ count for 'mean'),
 * zero rows where ignored, in one fused pass. dloss: a number or a tensor of
 * the forward's output size (one element, or (N) for reduction 'none').
 */
export function crossEntropyBackward(dloss: Tensor | number, logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const fn = 'cudagrad.crossEntropy backward';
  const p = parse(fn, opts);
  const lh = arg(fn, logits, 'logits');
  const th = arg(fn, targets, 'targets');
  if (dloss instanceof Tensor) return wrap(nat.crossEntropyBackward(arg(fn, dloss, 'dloss'), lh, th, p.ignoreIndex, p.reduction));
  const d = full([], num(fn, dloss, 'dloss'), { device: logits.device });
  try {
    return wrap(nat.crossEntropyBackward(d.handle(fn), lh, th, p.ignoreIndex, p.reduction));
  } finally {
    d.dispose();
  }
}
