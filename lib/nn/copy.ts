// In-place copy of one float32 tensor's values into another of the same shape,
// bit for bit (loading a state dict must not replace the parameter tensors
// that optimizers hold). The native addon has no copy-into op yet, so this
// uses the fused SGD kernel's first momentum step, which stores the gradient
// into the buffer unchanged: buf <- grad. Its parameter argument is a scratch
// tensor (updated with lr 0 and discarded).
import { zeros } from '../creation';
import { noGrad } from '../autograd';
import { rangeError, shapeStr, typeError } from '../errors';
import { native } from '../native';
import { sgdStep } from '../ops/optim';
import { Tensor } from '../tensor';

/** dst <- src in place (same shape, float32; src is moved to dst's device first). */
export function copyInto(dst: Tensor, src: Tensor): void {
  const fn = 'cudagrad.copyInto';
  if (!(dst instanceof Tensor) || !(src instanceof Tensor)) throw typeError(fn, 'dst and src must be Tensors');
  if (dst.dtype !== 'float32' || src.dtype !== 'float32') throw typeError(fn, `dst and src must be float32, got ${dst.describe()} and ${src.describe()}`);
  if (shapeStr(dst.shape) !== shapeStr(src.shape)) throw rangeError(fn, `dst has shape ${shapeStr(dst.shape)} but src has shape ${shapeStr(src.shape)}`);
  // A view of dst's own storage (as a state dict taken from this module holds) already has its values.
  if (dst.size === 0 || dst === src || native.sharesStorage(dst.handle(fn), src.handle(fn))) return;
  noGrad(() => {
    const s = src.device === dst.device ? src : src.to(dst.device);
    const scratch = zeros(dst.shape, { device: dst.device });
    try {
      sgdStep(scratch, s, dst, { lr: 0, momentum: 1, firstStep: true });
    } finally {
      scratch.dispose();
      if (s !== src) s.dispose();
    }
  });
}
