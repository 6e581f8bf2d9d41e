// Optimizer dispatch: fused updates that write their tensors in place
// (param, momentum buffer, m, v); every tensor float32, on one device, of the
// parameter's shape, and no two of them sharing storage. Hyperparameters are
// checked as torch.optim checks them (lr, eps, momentum, weight decay >= 0;
// betas in [0, 1); Nesterov needs momentum > 0 and dampening 0). Also the
// global L2 norm of a list of gradients (double accumulation) and clipping
// (as torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when
// that is below 1; returns the norm before clipping).
#pragma once

#include <vector>

#include "../ops/optim.h"
#include "../runtime/tensor.h"

namespace cg::dispatch {

struct SgdOptions {
  double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, first = false;
};
struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  double step = 1;  // 1-based step count, after this update
  bool decoupled = false;  // AdamW
};

void sgd_step(const TensorImpl& param, const TensorImpl& grad, const TensorImpl* momentum_buf, const SgdOptions& o);
void adam_step(const TensorImpl& param, const TensorImpl& grad, const TensorImpl& m, const TensorImpl& v,
               const AdamOptions& o);
// Adam / AdamW over many parameters in one call: the same lr, betas and eps,
// each parameter its own step count and weight decay. clip_max_norm >= 0 clips
// the gradients by their global norm first (clip_grad_norm's numbers, fused
// into the update: the gradients themselves are left as they are); NaN: none.
struct AdamItem {
  const TensorImpl *param, *grad, *m, *v;
  double step, weight_decay;
};
void adam_step_multi(const std::vector<AdamItem>& items, const AdamOptions& o, double clip_max_norm);
double grad_norm(const char* op, const std::vector<const TensorImpl*>& grads);
// read = false skips reading the norm back (no host sync on CUDA) and returns NaN.
double clip_grad_norm(const std::vector<const TensorImpl*>& grads, double max_norm, bool read = true);

}  // namespace cg::dispatch
