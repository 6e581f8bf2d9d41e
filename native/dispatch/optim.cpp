// Optimizer dispatch (dispatch/optim.h).
#include "optim.h"

#include <cmath>

#include "../runtime/error.h"
#include "check.h"
#include "on_device.h"

namespace cg::dispatch {

namespace {

struct Named {
  const TensorImpl* t;
  const char* name;
};

// float32, one device, the param's shape, and distinct storages (updates are in place).
void check_state(const char* op, std::initializer_list<Named> ts) {
  const Named& param = *ts.begin();
  for (const Named& a : ts) {
    check_dtype(op, *a.t, DType::Float32, a.name);
    check_same_device(op, {param.t, a.t});
    if (a.t != param.t) check_same_shape(op, *a.t, a.name, *param.t, param.name);
    for (const Named& b : ts) {
      if (&b == &a) break;
      if (a.t->storage() == b.t->storage())
        throw_range_error(op, ": ", b.name, " and ", a.name, " share storage (the update writes in place)");
    }
  }
}

void check_nonneg(const char* op, double v, const char* name) {
  if (!(v >= 0 && std::isfinite(v))) throw_range_error(op, ": ", name, " must be a finite number >= 0, got ", v);
}

void check_beta(const char* op, double v, const char* name) {
  if (!(v >= 0 && v < 1)) throw_range_error(op, ": ", name, " must be in [0, 1), got ", v);
}

}  // namespace

void sgd_step(const TensorImpl& param, const TensorImpl& grad, const TensorImpl* momentum_buf, const SgdOptions& o) {
  const char* op = "cudagrad.sgdStep";
  check_nonneg(op, o.lr, "lr");
  check_nonneg(op, o.momentum, "momentum");
  check_nonneg(op, o.weight_decay, "weightDecay");
  if (!std::isfinite(o.dampening)) throw_range_error(op, ": dampening must be finite, got ", o.dampening);
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
    throw_range_error(op, ": Nesterov momentum needs momentum > 0 and dampening 0, got momentum ", o.momentum,
                      " and dampening ", o.dampening);
  if (o.momentum != 0 && !momentum_buf)
    throw_range_error(op, ": momentum ", o.momentum, " needs a momentum buffer (a tensor of the parameter's shape)");
  if (momentum_buf) check_state(op, {{&param, "param"}, {&grad, "grad"}, {momentum_buf, "momentum buffer"}});
  else check_state(op, {{&param, "param"}, {&grad, "grad"}});
  // With momentum 0 the buffer is not used (as torch, which keeps none).
  float* buf = o.momentum != 0 ? momentum_buf->data_as<float>() : nullptr;
  CG_CPU_ONLY(op, param.device(), sgd_step, param.data_as<float>(), grad.data_as<float>(), buf, param.numel(),
              static_cast<float>(o.lr), static_cast<float>(o.momentum), static_cast<float>(o.dampening),
              static_cast<float>(o.weight_decay), o.nesterov, o.first);
}

void adam_step(const TensorImpl& param, const TensorImpl& grad, const TensorImpl& m, const TensorImpl& v,
               const AdamOptions& o) {
  const char* op = o.decoupled ? "cudagrad.adamwStep" : "cudagrad.adamStep";
  check_nonneg(op, o.lr, "lr");
  check_nonneg(op, o.eps, "eps");
  check_nonneg(op, o.weight_decay, "weightDecay");
  check_beta(op, o.beta1, "beta1");
  check_beta(op, o.beta2, "beta2");
  if (!(o.step >= 1 && std::trunc(o.step) == o.step && o.step <= 9007199254740991.0))
    throw_range_error(op, ": step must be an integer >= 1 (the step count after this update), got ", o.step);
  check_state(op, {{&param, "param"}, {&grad, "grad"}, {&m, "m"}, {&v, "v"}});
  AdamScalars s;
  s.beta1 = static_cast<float>(o.beta1);
  s.beta2 = static_cast<float>(o.beta2);
  s.one_minus_beta1 = static_cast<float>(1 - o.beta1);
  s.one_minus_beta2 = static_cast<float>(1 - o.beta2);
  s.eps = static_cast<float>(o.eps);
  s.weight_decay = static_cast<float>(o.weight_decay);
  s.step_size = static_cast<float>(o.lr / (1 - std::pow(o.beta1, o.step)));
  s.bc2_sqrt = static_cast<float>(std::sqrt(1 - std::pow(o.beta2, o.step)));
  s.decay = static_cast<float>(1 - o.lr * o.weight_decay);
  s.decoupled = o.decoupled;
  CG_CPU_ONLY(op, param.device(), adam_step, param.data_as<float>(), grad.data_as<float>(), m.data_as<float>(),
              v.data_as<float>(), param.numel(), s);
}

double grad_norm(const char* op, const std::vector<const TensorImpl*>& grads) {
  double total = 0;
  for (size_t i = 0; i < grads.size(); ++i) {
    const TensorImpl& g = *grads[i];
    check_dtype(op, g, DType::Float32, cat("tensor ", i).c_str());
    if (g.device() != grads[0]->device())
      throw_type_error(op, ": expected all tensors on one device, got ", grads[0]->device().str(), " (tensor 0) and ",
                       g.device().str(), " (tensor ", i, ")");
  }
  for (const TensorImpl* g : grads) {
    double s = 0;
    CG_CPU_ONLY(op, g->device(), sum_squares, &s, g->data_as<float>(), g->numel());
    total += s;
  }
  return std::sqrt(total);
}

double clip_grad_norm(const std::vector<const TensorImpl*>& grads, double max_norm) {
  const char* op = "cudagrad.clipGradNorm";
  if (!(max_norm >= 0)) throw_range_error(op, ": maxNorm must be a number >= 0, got ", max_norm);
  double norm = grad_norm(op, grads);
  double coef = max_norm / (norm + 1e-6);
  // As torch: scale by min(coef, 1); NaN / inf norms make coef NaN / 0 and propagate.
  if (!(coef >= 1)) {
    for (const TensorImpl* g : grads)
      CG_CPU_ONLY(op, g->device(), scale, g->data_as<float>(), g->numel(), static_cast<float>(coef));
  }
  return norm;
}

}  // namespace cg::dispatch
