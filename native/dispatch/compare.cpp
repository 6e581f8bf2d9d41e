// Comparison dispatch (dispatch/compare.h): dtype and device checks, the
// broadcast plan from dispatch/elementwise, the float32 rounding of a scalar.
#include "compare.h"

#include <cfloat>
#include <cmath>
#include <string>

#include "check.h"
#include "creation.h"
#include "elementwise.h"
#include "on_device.h"

namespace cg::dispatch {

namespace {

std::string name(Cmp op) { return cat("cudagrad.", compare_name(op)); }

// s rounded to the nearest float32 (ties to even), overflowing to +-inf as IEEE
// (a plain cast of an out-of-range double is undefined behaviour in C++).
double round_to_float(double s) {
  if (!std::isfinite(s) || std::fabs(s) <= FLT_MAX) return static_cast<float>(s);
  // Past FLT_MAX: FLT_MAX up to half an ulp (2^103) above it, infinity from there (a tie goes to even: infinity).
  const double half_ulp_above = static_cast<double>(FLT_MAX) + std::ldexp(1.0, 103);
  const double r = std::fabs(s) < half_ulp_above ? static_cast<double>(FLT_MAX) : INFINITY;
  return s < 0 ? -r : r;
}

}  // namespace

const char* compare_name(Cmp op) {
  switch (op) {
    case Cmp::Eq: return "eq";
    case Cmp::Ne: return "ne";
    case Cmp::Lt: return "lt";
    case Cmp::Le: return "le";
    case Cmp::Gt: return "gt";
    default: return "ge";
  }
}

// The comparison kernels take float32 and int32 (ops/compare.h).
static void check_compare_dtype(const char* op, const TensorImpl& t, const char* arg) {
  if (t.dtype() == DType::BFloat16)
    throw_type_error(op, ": ", arg, " is a bfloat16 tensor of shape ", shape_str(t.shape()),
                     "; comparisons take float32 or int32 (cast it first)");
}

TensorPtr compare_forward(Cmp op, const TensorImpl& a, const TensorImpl& b) {
  std::string n = name(op);
  const char* o = n.c_str();
  check_compare_dtype(o, a, "a");
  if (a.dtype() != b.dtype())
    throw_type_error(o, ": a and b must have the same dtype, got ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  check_same_device(o, {&a, &b});
  Shape shape = broadcast_shapes(o, a.shape(), b.shape());
  Bcast bc = make_bcast(o, shape, a.shape(), b.shape());
  TensorPtr out = empty(o, shape, DType::Float32, a.device());
  if (out->numel() == 0) return out;
  CG_ON_DEVICE(a.device(), compare_forward, out->data_as<float>(), a.data(), b.data(), bc, a.dtype(), op);
  return out;
}

TensorPtr compare_scalar_forward(Cmp op, const TensorImpl& a, double s) {
  std::string n = name(op);
  const char* o = n.c_str();
  check_compare_dtype(o, a, "a");
  const double v = a.dtype() == DType::Float32 ? round_to_float(s) : s;
  TensorPtr out = empty(o, a.shape(), DType::Float32, a.device());
  if (out->numel() == 0) return out;
  CG_ON_DEVICE(a.device(), compare_scalar_forward, out->data_as<float>(), a.data(), v, a.numel(), a.dtype(), op);
  return out;
}

}  // namespace cg::dispatch
