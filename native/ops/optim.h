// Fused optimizer updates: one pass over each parameter, in place on the
// parameter and its state (grad is read only). n elements, float32. The
// step-dependent scalars are computed by dispatch in double and passed as
// float. Formulas as torch 1.13 (maximize = False, amsgrad = False).
//
// sgd_step (torch.optim.SGD): momentum_buf (n) or null when momentum == 0
//   g = grad + weight_decay * param
//   momentum != 0: buf = first ? g : momentum * buf + (1 - dampening) * g
//                  g = nesterov ? g + momentum * buf : buf
//   param -= lr * g
// adam_step (torch.optim.Adam; decoupled: torch.optim.AdamW):
//   Adam:  g = grad + weight_decay * param      AdamW: param *= 1 - lr * weight_decay (= decay)
//   m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g * g
//   param -= step_size * m / (sqrt(v) / bc2_sqrt + eps)
//   step_size = lr / (1 - beta1^step), bc2_sqrt = sqrt(1 - beta2^step)
// adam_step_multi: adam_step on each of `count` tensors in one call (on CUDA a
//   launch per kAdamMultiTensors tensors, not one per tensor), each with its
//   own scalars. sumsq non-null: the gradients are clipped on the fly with
//   clip_scale's factor (g *= float(max_norm / (sqrt(*sumsq) + 1e-6)) unless
//   that is >= 1): the numbers of clip_scale then adam_step, without writing
//   the clipped gradients back (one pass over them instead of three).
// sum_squares: out (1) = sum inp^2 (accumulate: out += ...), in double, for
//   the global gradient norm; `out` is in the device's memory (a host double
//   on the CPU), so the CUDA path accumulates over tensors without a sync.
// sum_squares_multi: out (1) = the sum over `count` tensors, the same numbers
//   as sum_squares on each in turn (accumulating after the first); on CUDA two
//   launches per 64 tensors instead of two per tensor.
// clip_scale: gradient clipping with the factor computed where `sumsq` lives
//   (no host round trip on CUDA): coef = max_norm / (sqrt(*sumsq) + 1e-6),
//   and x *= float(coef) in place unless coef >= 1 (NaN / inf norms give
//   coef NaN / 0 and propagate, as torch.nn.utils.clip_grad_norm_).
#pragma once

#include <cstdint>

namespace cg {
struct AdamScalars {
  float beta1, beta2, one_minus_beta1, one_minus_beta2, eps, weight_decay, step_size, bc2_sqrt, decay;
  bool decoupled;
};
// One tensor of an adam_step_multi call.
struct AdamTensor {
  float* param;
  const float* grad;
  float* m;
  float* v;
  int64_t n;
  AdamScalars s;
};
}  // namespace cg

namespace cg::cpu {
void sgd_step(float* param, const float* grad, float* momentum_buf, int64_t n, float lr, float momentum,
              float dampening, float weight_decay, bool nesterov, bool first);
void adam_step(float* param, const float* grad, float* m, float* v, int64_t n, const AdamScalars& s);
void adam_step_multi(const AdamTensor* ts, int64_t count, const double* sumsq, double max_norm);
void sum_squares(double* out, const float* inp, int64_t n, bool accumulate);
void sum_squares_multi(double* out, const float* const* inps, const int64_t* ns, int64_t count);
void clip_scale(float* x, int64_t n, const double* sumsq, double max_norm);
}  // namespace cg::cpu

namespace cg::cuda {
void sgd_step(float* param, const float* grad, float* momentum_buf, int64_t n, float lr, float momentum,
              float dampening, float weight_decay, bool nesterov, bool first);
void adam_step(float* param, const float* grad, float* m, float* v, int64_t n, const AdamScalars& s);
void adam_step_multi(const AdamTensor* ts, int64_t count, const double* sumsq, double max_norm);
void sum_squares(double* out, const float* inp, int64_t n, bool accumulate);
void sum_squares_multi(double* out, const float* const* inps, const int64_t* ns, int64_t count);
void clip_scale(float* x, int64_t n, const double* sumsq, double max_norm);
}  // namespace cg::cuda
