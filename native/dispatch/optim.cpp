// Optimizer dispatch (dispatch/optim.h).
#include "optim.h"

#include <cmath>

#include "../runtime/error.h"
#include "check.h"
#include "creation.h"
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
  CG_ON_DEVICE(param.device(), sgd_step, param.data_as<float>(), grad.data_as<float>(), buf, param.numel(),
               static_cast<float>(o.lr), static_cast<float>(o.momentum), static_cast<float>(o.dampening),
               static_cast<float>(o.weight_decay), o.nesterov, o.first);
}

namespace {

void check_adam(const char* op, const AdamOptions& o) {
  check_nonneg(op, o.lr, "lr");
  check_nonneg(op, o.eps, "eps");
  check_nonneg(op, o.weight_decay, "weightDecay");
  check_beta(op, o.beta1, "beta1");
  check_beta(op, o.beta2, "beta2");
  if (!(o.step >= 1 && std::trunc(o.step) == o.step && o.step <= 9007199254740991.0))
    throw_range_error(op, ": step must be an integer >= 1 (the step count after this update), got ", o.step);
}

AdamScalars adam_scalars(const AdamOptions& o) {
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
  return s;
}

}  // namespace

void adam_step(const TensorImpl& param, const TensorImpl& grad, const TensorImpl& m, const TensorImpl& v,
               const AdamOptions& o) {
  const char* op = o.decoupled ? "cudagrad.adamwStep" : "cudagrad.adamStep";
  check_adam(op, o);
  check_state(op, {{&param, "param"}, {&grad, "grad"}, {&m, "m"}, {&v, "v"}});
  CG_ON_DEVICE(param.device(), adam_step, param.data_as<float>(), grad.data_as<float>(), m.data_as<float>(),
               v.data_as<float>(), param.numel(), adam_scalars(o));
}

namespace {

// dtypes and one device for every tensor.
void check_grads(const char* op, const std::vector<const TensorImpl*>& grads) {
  for (size_t i = 0; i < grads.size(); ++i) {
    const TensorImpl& g = *grads[i];
    check_dtype(op, g, DType::Float32, cat("tensor ", i).c_str());
    if (g.device() != grads[0]->device())
      throw_type_error(op, ": expected all tensors on one device, got ", grads[0]->device().str(), " (tensor 0) and ",
                       g.device().str(), " (tensor ", i, ")");
  }
}

// The sum of squares of every tensor (double, tensors in order), left in the
// tensors' device memory: a 2-element float32 tensor holding one double (its
// storage is 512-byte aligned), so CUDA accumulates without a host sync.
TensorPtr sum_squares_on_device(const char* op, const std::vector<const TensorImpl*>& grads) {
  TensorPtr acc = empty(op, {2}, DType::Float32, grads[0]->device());
  double* total = reinterpret_cast<double*>(acc->data_as<float>());
  std::vector<const float*> ptrs;
  std::vector<int64_t> ns;
  for (const TensorImpl* g : grads) {
    ptrs.push_back(g->data_as<float>());
    ns.push_back(g->numel());
  }
  CG_ON_DEVICE(grads[0]->device(), sum_squares_multi, total, ptrs.data(), ns.data(), static_cast<int64_t>(ptrs.size()));
  return acc;
}

// Reads the accumulated double (a sync on CUDA: the caller asked for a number).
double read_total(const char* op, const TensorImpl& acc) {
  double total = 0;
  copy_to_host(op, acc, &total, sizeof total);
  return total;
}

}  // namespace

void adam_step_multi(const std::vector<AdamItem>& items, const AdamOptions& o, double clip_max_norm) {
  const char* op = o.decoupled ? "cudagrad.adamwStep (multi-tensor)" : "cudagrad.adamStep (multi-tensor)";
  bool clip = !std::isnan(clip_max_norm);
  if (clip && !(clip_max_norm >= 0)) throw_range_error(op, ": maxNorm must be a number >= 0, got ", clip_max_norm);
  if (items.empty()) return;
  std::vector<AdamTensor> ts;
  std::vector<const TensorImpl*> grads;
  ts.reserve(items.size());
  grads.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const AdamItem& it = items[i];
    AdamOptions oi = o;
    oi.step = it.step;
    oi.weight_decay = it.weight_decay;
    const std::string name = cat(op, " (tensor ", i, ")");
    check_adam(name.c_str(), oi);
    check_state(name.c_str(), {{it.param, "param"}, {it.grad, "grad"}, {it.m, "m"}, {it.v, "v"}});
    ts.push_back({it.param->data_as<float>(), it.grad->data_as<float>(), it.m->data_as<float>(),
                  it.v->data_as<float>(), it.param->numel(), adam_scalars(oi)});
    grads.push_back(it.grad);
  }
  check_grads(op, grads);  // one device for all (each grad is on its param's device)
  // The global norm's sum of squares stays where the tensors live (no host sync on CUDA).
  TensorPtr acc = clip ? sum_squares_on_device(op, grads) : nullptr;
  const double* total = acc ? reinterpret_cast<const double*>(acc->data_as<float>()) : nullptr;
  CG_ON_DEVICE(items[0].param->device(), adam_step_multi, ts.data(), static_cast<int64_t>(ts.size()), total,
               clip ? clip_max_norm : 0.0);
}

double grad_norm(const char* op, const std::vector<const TensorImpl*>& grads) {
  check_grads(op, grads);
  if (grads.empty()) return 0;
  TensorPtr acc = sum_squares_on_device(op, grads);
  return std::sqrt(read_total(op, *acc));
}

double clip_grad_norm(const std::vector<const TensorImpl*>& grads, double max_norm, bool read) {
  const char* op = "cudagrad.clipGradNorm";
  if (!(max_norm >= 0)) throw_range_error(op, ": maxNorm must be a number >= 0, got ", max_norm);
  check_grads(op, grads);
  if (grads.empty()) return 0;
  TensorPtr acc = sum_squares_on_device(op, grads);
  const double* total = reinterpret_cast<const double*>(acc->data_as<float>());
  // As torch: scale by min(max_norm / (norm + 1e-6), 1), the factor computed
  // where the sum lives (on the device for CUDA: no sync before the scaling).
  for (const TensorImpl* g : grads)
    CG_ON_DEVICE(g->device(), clip_scale, g->data_as<float>(), g->numel(), total, max_norm);
  return read ? std::sqrt(read_total(op, *acc)) : std::nan("");
}

}  // namespace cg::dispatch
