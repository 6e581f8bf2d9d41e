// LayerNorm dispatch (dispatch/layernorm.h).
#include "layernorm.h"

#include <cmath>

#include "../runtime/error.h"
#include "check.h"
#include "creation.h"
#include "on_device.h"

namespace cg::dispatch {

namespace {

// The input's last dim C (input must have one).
int64_t last_dim(const char* op, const TensorImpl& inp) {
  if (inp.shape().empty()) throw_range_error(op, ": input must have at least 1 dim (..., C), got shape []");
  return inp.shape().back();
}

// An optional (C) float32 parameter on the input's device.
void check_param(const char* op, const TensorImpl* p, const char* name, const TensorImpl& inp, int64_t C) {
  if (!p) return;
  check_dtype(op, *p, DType::Float32, name);
  check_same_device(op, {&inp, p});
  if (p->shape() != Shape{C})
    throw_range_error(op, ": ", name, " must have shape [", C, "] (the input's last dim), got ", shape_str(p->shape()),
                      " for input shape ", shape_str(inp.shape()));
}

const float* ptr(const TensorImpl* t) { return t ? t->data_as<float>() : nullptr; }

}  // namespace

LayerNormOut layernorm_forward(const TensorImpl& inp, const TensorImpl* weight, const TensorImpl* bias, double eps) {
  const char* op = "cudagrad.layerNorm";
  check_dtype(op, inp, DType::Float32, "input");
  int64_t C = last_dim(op, inp);
  check_param(op, weight, "weight", inp, C);
  check_param(op, bias, "bias", inp, C);
  if (!(std::isfinite(eps) && eps >= 0)) throw_range_error(op, ": eps must be a finite number >= 0, got ", eps);
  Shape stats(inp.shape().begin(), inp.shape().end() - 1);
  LayerNormOut r;
  r.out = empty(op, inp.shape(), DType::Float32, inp.device());
  r.mean = empty(op, stats, DType::Float32, inp.device());
  r.rstd = empty(op, stats, DType::Float32, inp.device());
  CG_ON_DEVICE(inp.device(), layernorm_forward, r.out->data_as<float>(), r.mean->data_as<float>(),
               r.rstd->data_as<float>(), inp.data_as<float>(), ptr(weight), ptr(bias), r.mean->numel(), C,
               static_cast<float>(eps));
  return r;
}

LayerNormGrads layernorm_backward(const TensorImpl& dout, const TensorImpl& inp, const TensorImpl* weight,
                                  const TensorImpl& mean, const TensorImpl& rstd) {
  const char* op = "cudagrad.layerNorm backward";
  check_dtype(op, dout, DType::Float32, "dout");
  check_dtype(op, inp, DType::Float32, "input");
  check_dtype(op, mean, DType::Float32, "mean");
  check_dtype(op, rstd, DType::Float32, "rstd");
  check_same_device(op, {&dout, &inp, &mean, &rstd});
  check_same_shape(op, dout, "dout", inp, "input");
  int64_t C = last_dim(op, inp);
  check_param(op, weight, "weight", inp, C);
  Shape stats(inp.shape().begin(), inp.shape().end() - 1);
  if (mean.shape() != stats)
    throw_range_error(op, ": mean must have shape ", shape_str(stats), " for input shape ", shape_str(inp.shape()),
                      ", got ", shape_str(mean.shape()));
  if (rstd.shape() != stats)
    throw_range_error(op, ": rstd must have shape ", shape_str(stats), " for input shape ", shape_str(inp.shape()),
                      ", got ", shape_str(rstd.shape()));
  LayerNormGrads g;
  g.dinp = empty(op, inp.shape(), DType::Float32, inp.device());
  g.dweight = full(op, {C}, DType::Float32, 0.0, inp.device());
  g.dbias = full(op, {C}, DType::Float32, 0.0, inp.device());
  CG_ON_DEVICE(inp.device(), layernorm_backward, g.dinp->data_as<float>(), g.dweight->data_as<float>(),
               g.dbias->data_as<float>(), dout.data_as<float>(), inp.data_as<float>(), ptr(weight),
               mean.data_as<float>(), rstd.data_as<float>(), mean.numel(), C);
  return g;
}

}  // namespace cg::dispatch
