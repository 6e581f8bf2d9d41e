// Attention dispatch (dispatch/attention.h).
#include "attention.h"

#include <string>

#include "check.h"
#include "creation.h"
#include "on_device.h"

namespace cg::dispatch {

namespace {

constexpr const char* kFwd = "cudagrad.attention";
constexpr const char* kBwd = "cudagrad.attention backward";

struct Dims {
  int64_t B, H, Tq, Tk, D;
  DType dtype;  // of q, k, v: float32 or bfloat16
};

std::string described(const char* name, const TensorImpl& t) {
  return std::string(name) + " " + dtype_name(t.dtype()) + " " + shape_str(t.shape());
}

// dtypes, devices and shapes of q, k, v and the mask; returns the sizes.
Dims check_qkv(const char* op, const TensorImpl& q, const TensorImpl& k, const TensorImpl& v, const TensorImpl* mask) {
  const DType dt = q.dtype();
  if ((dt != DType::Float32 && dt != DType::BFloat16) || k.dtype() != dt || v.dtype() != dt)
    throw_type_error(op, ": q, k and v must share one dtype, float32 or bfloat16; got ", described("q", q), ", ",
                     described("k", k), ", ", described("v", v));
  if (mask && mask->dtype() != DType::Float32 && mask->dtype() != DType::Int32)
    throw_type_error(op, ": mask must be float32 (additive) or int32 (boolean), got ", dtype_name(mask->dtype()),
                     " tensor of shape ", shape_str(mask->shape()));
  if (mask) check_same_device(op, {&q, &k, &v, mask});
  else check_same_device(op, {&q, &k, &v});
  if (q.shape().size() != 4) throw_range_error(op, ": q must have shape (B, H, Tq, D), got ", shape_str(q.shape()));
  if (k.shape().size() != 4) throw_range_error(op, ": k must have shape (B, H, Tk, D), got ", shape_str(k.shape()));
  const Shape& qs = q.shape();
  const Shape& ks = k.shape();
  if (qs[3] < 1) throw_range_error(op, ": head size D must be at least 1, got q of shape ", shape_str(qs));
  if (ks[0] != qs[0] || ks[1] != qs[1] || ks[3] != qs[3])
    throw_range_error(op, ": k has shape ", shape_str(ks), " but q has shape ", shape_str(qs),
                      " (B, H and D must agree)");
  check_same_shape(op, v, "v", k, "k");
  if (mask && mask->shape() != Shape{qs[0], ks[2]})
    throw_range_error(op, ": mask must have shape (B, Tk) = ", shape_str({qs[0], ks[2]}), ", got ",
                      shape_str(mask->shape()));
  return {qs[0], qs[1], qs[2], ks[2], qs[3], dt};
}

const float* mask_f32(const TensorImpl* mask) {
  return mask && mask->dtype() == DType::Float32 ? mask->data_as<float>() : nullptr;
}
const int32_t* mask_i32(const TensorImpl* mask) {
  return mask && mask->dtype() == DType::Int32 ? mask->data_as<int32_t>() : nullptr;
}

}  // namespace

AttentionOut attention_forward(const TensorImpl& q, const TensorImpl& k, const TensorImpl& v, const TensorImpl* mask,
                               bool causal) {
  Dims s = check_qkv(kFwd, q, k, v, mask);
  AttentionOut r;
  r.out = empty(kFwd, q.shape(), s.dtype, q.device());
  r.lse = empty(kFwd, {s.B, s.H, s.Tq}, DType::Float32, q.device());
  if (s.dtype == DType::BFloat16) {
    CG_ON_DEVICE(q.device(), attention_forward_bf16, r.out->data_as<uint16_t>(), r.lse->data_as<float>(),
                q.data_as<uint16_t>(), k.data_as<uint16_t>(), v.data_as<uint16_t>(), mask_f32(mask), mask_i32(mask),
                s.B, s.H, s.Tq, s.Tk, s.D, causal);
    return r;
  }
  CG_ON_DEVICE(q.device(), attention_forward, r.out->data_as<float>(), r.lse->data_as<float>(),
              q.data_as<float>(), k.data_as<float>(), v.data_as<float>(), mask_f32(mask), mask_i32(mask), s.B, s.H,
              s.Tq, s.Tk, s.D, causal);
  return r;
}

AttentionGrads attention_backward(const TensorImpl& dout, const TensorImpl& q, const TensorImpl& k,
                                  const TensorImpl& v, const TensorImpl& out, const TensorImpl& lse,
                                  const TensorImpl* mask, bool causal) {
  Dims s = check_qkv(kBwd, q, k, v, mask);
  if (dout.dtype() != s.dtype || out.dtype() != s.dtype)
    throw_type_error(kBwd, ": dout and out must have q's dtype (", dtype_name(s.dtype), "); got ",
                     described("dout", dout), ", ", described("out", out));
  check_dtype(kBwd, lse, DType::Float32, "lse");
  check_same_device(kBwd, {&q, &dout, &out, &lse});
  check_same_shape(kBwd, dout, "dout", q, "q");
  check_same_shape(kBwd, out, "out", q, "q");
  if (lse.shape() != Shape{s.B, s.H, s.Tq})
    throw_range_error(kBwd, ": lse must have shape (B, H, Tq) = ", shape_str({s.B, s.H, s.Tq}), ", got ",
                      shape_str(lse.shape()));
  AttentionGrads g;
  g.dq = empty(kBwd, q.shape(), s.dtype, q.device());
  g.dk = empty(kBwd, k.shape(), s.dtype, q.device());
  g.dv = empty(kBwd, v.shape(), s.dtype, q.device());
  if (s.dtype == DType::BFloat16) {
    CG_ON_DEVICE(q.device(), attention_backward_bf16, g.dq->data_as<uint16_t>(), g.dk->data_as<uint16_t>(),
                g.dv->data_as<uint16_t>(), dout.data_as<uint16_t>(), q.data_as<uint16_t>(), k.data_as<uint16_t>(),
                v.data_as<uint16_t>(), out.data_as<uint16_t>(), lse.data_as<float>(), mask_f32(mask),
                mask_i32(mask), s.B, s.H, s.Tq, s.Tk, s.D, causal);
    return g;
  }
  CG_ON_DEVICE(q.device(), attention_backward, g.dq->data_as<float>(), g.dk->data_as<float>(),
              g.dv->data_as<float>(), dout.data_as<float>(), q.data_as<float>(), k.data_as<float>(),
              v.data_as<float>(), out.data_as<float>(), lse.data_as<float>(), mask_f32(mask), mask_i32(mask), s.B,
              s.H, s.Tq, s.Tk, s.D, causal);
  return g;
}

}  // namespace cg::dispatch
