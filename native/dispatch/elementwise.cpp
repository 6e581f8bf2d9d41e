// Elementwise dispatch (dispatch/elementwise.h): broadcast shapes, the merged
// stride plan (Bcast) the kernels walk, and the sum back to each operand's
// shape after backward.
#include "elementwise.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "check.h"
#include "creation.h"
#include "on_device.h"
#include "reduce.h"

namespace cg::dispatch {

namespace {

std::string name(Binary op, const char* suffix = "") { return cat("cudagrad.", binary_name(op), suffix); }
std::string name(Unary op, const char* suffix = "") { return cat("cudagrad.", unary_name(op), suffix); }

// Contiguous strides of `s` right-aligned to rank `nd`, 0 where s has size 1.
void bcast_strides(const Shape& s, size_t nd, int64_t* st) {
  int64_t acc = 1;
  for (size_t i = 0; i < nd; ++i) {
    size_t d = nd - 1 - i;
    size_t off = nd - s.size();
    if (d < off || s[d - off] == 1) {
      st[d] = 0;
    } else {
      st[d] = acc;
      acc *= s[d - off];
    }
  }
}

float scalar_arg(const char* op, double s) {
  check_value(op, s, DType::Float32, "scalar");
  return static_cast<float>(s);
}

}  // namespace

const char* binary_name(Binary op) {
  switch (op) {
    case Binary::Add: return "add";
    case Binary::Sub: return "sub";
    case Binary::Mul: return "mul";
    case Binary::Div: return "div";
    default: return "pow";
  }
}

const char* unary_name(Unary op) {
  switch (op) {
    case Unary::Neg: return "neg";
    case Unary::Exp: return "exp";
    case Unary::Log: return "log";
    default: return "sqrt";
  }
}

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  const size_t nd = std::max(a.size(), b.size());
  Shape out(nd);
  for (size_t i = 0; i < nd; ++i) {
    int64_t x = i < a.size() ? a[a.size() - 1 - i] : 1, y = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (x != y && x != 1 && y != 1)
      throw_range_error(op, ": shapes ", shape_str(a), " and ", shape_str(b), " are not broadcastable (sizes ", x, " and ", y,
                        " at dim -", i + 1, ")");
    out[nd - 1 - i] = x == 1 ? y : x;
  }
  return out;
}

// Output dims of size 1 dropped, neighbours merged when both operands allow.
Bcast make_bcast(const char* op, const Shape& out, const Shape& a, const Shape& b) {
  const size_t nd = out.size();
  std::vector<int64_t> as(nd), bs(nd);
  bcast_strides(a, nd, as.data());
  bcast_strides(b, nd, bs.data());
  Bcast bc;
  int64_t sh[kMaxBcastDims], sa[kMaxBcastDims], sb[kMaxBcastDims];
  int m = 0;
  for (size_t d = 0; d < nd; ++d) {
    if (out[d] == 1) continue;
    if (m > 0 && sa[m - 1] == as[d] * out[d] && sb[m - 1] == bs[d] * out[d]) {
      sh[m - 1] *= out[d];
      sa[m - 1] = as[d];
      sb[m - 1] = bs[d];
      continue;
    }
    if (m == kMaxBcastDims)
      throw_range_error(op, ": broadcasting shapes ", shape_str(a), " and ", shape_str(b), " needs more than ", kMaxBcastDims,
                        " dimensions after merging");
    sh[m] = out[d];
    sa[m] = as[d];
    sb[m] = bs[d];
    ++m;
  }
  if (m == 0) {  // one element
    sh[0] = 1;
    sa[0] = sb[0] = 0;
    m = 1;
  }
  bc.ndim = m;
  for (int d = 0; d < m; ++d) {
    bc.shape[d] = sh[d];
    bc.astride[d] = sa[d];
    bc.bstride[d] = sb[d];
  }
  return bc;
}

TensorPtr binary_forward(Binary op, const TensorImpl& a, const TensorImpl& b) {
  std::string n = name(op);
  const char* o = n.c_str();
  check_dtype(o, a, DType::Float32, "a");
  check_dtype(o, b, DType::Float32, op == Binary::Pow ? "exponent" : "b");
  check_same_device(o, {&a, &b});
  Shape shape = broadcast_shapes(o, a.shape(), b.shape());
  Bcast bc = make_bcast(o, shape, a.shape(), b.shape());
  TensorPtr out = empty(o, shape, DType::Float32, a.device());
  if (out->numel() == 0) return out;
  CG_ON_DEVICE(a.device(), binary_forward, out->data_as<float>(), a.data_as<float>(), b.data_as<float>(), bc, op);
  return out;
}

TensorPtr binary_scalar_forward(Binary op, const TensorImpl& a, double s) {
  std::string n = name(op);
  const char* o = n.c_str();
  check_dtype(o, a, DType::Float32, "a");
  float v = scalar_arg(o, s);
  TensorPtr out = empty(o, a.shape(), DType::Float32, a.device());
  CG_ON_DEVICE(a.device(), binary_scalar_forward, out->data_as<float>(), a.data_as<float>(), v, a.numel(), op);
  return out;
}

std::pair<TensorPtr, TensorPtr> binary_backward(Binary op, const TensorImpl& dout, const TensorImpl& a, const TensorImpl& b) {
  std::string n = name(op, " backward");
  const char* o = n.c_str();
  check_dtype(o, a, DType::Float32, "a");
  check_dtype(o, b, DType::Float32, op == Binary::Pow ? "exponent" : "b");
  check_dtype(o, dout, DType::Float32, "dout");
  check_same_device(o, {&dout, &a, &b});
  Shape shape = broadcast_shapes(o, a.shape(), b.shape());
  if (dout.shape() != shape)
    throw_range_error(o, ": dout has shape ", shape_str(dout.shape()), " but ", shape_str(a.shape()), " and ", shape_str(b.shape()),
                      " broadcast to ", shape_str(shape));
  Bcast bc = make_bcast(o, shape, a.shape(), b.shape());
  const Device dev = a.device();
  auto grad = [&](int which) -> TensorPtr {
    const Shape& target = which == 0 ? a.shape() : b.shape();
    if (target == shape) {  // no broadcasting: straight into the result
      TensorPtr g = empty(o, shape, DType::Float32, dev);
      if (g->numel() > 0)
        CG_ON_DEVICE(dev, binary_backward, g->data_as<float>(), dout.data_as<float>(), a.data_as<float>(), b.data_as<float>(), bc, op,
                    which);
      return g;
    }
    bool plain = op == Binary::Add || (op == Binary::Sub && which == 0);
    if (plain || op == Binary::Sub) {  // d = +-dout: sum dout itself
      TensorPtr g = sum_to_shape(o, dout, target);
      if (!plain) CG_ON_DEVICE(dev, unary_forward, g->data_as<float>(), g->data_as<float>(), g->numel(), Unary::Neg);
      return g;
    }
    TensorPtr full = empty(o, shape, DType::Float32, dev);
    if (full->numel() > 0)
      CG_ON_DEVICE(dev, binary_backward, full->data_as<float>(), dout.data_as<float>(), a.data_as<float>(), b.data_as<float>(), bc, op,
                  which);
    return sum_to_shape(o, *full, target);
  };
  TensorPtr da = grad(0);
  return {std::move(da), grad(1)};
}

TensorPtr binary_scalar_backward(Binary op, const TensorImpl& dout, const TensorImpl& a, double s) {
  std::string n = name(op, " backward");
  const char* o = n.c_str();
  check_dtype(o, a, DType::Float32, "a");
  check_dtype(o, dout, DType::Float32, "dout");
  check_same_device(o, {&dout, &a});
  check_same_shape(o, dout, "dout", a, "a");
  float v = scalar_arg(o, s);
  TensorPtr da = empty(o, a.shape(), DType::Float32, a.device());
  CG_ON_DEVICE(a.device(), binary_scalar_backward, da->data_as<float>(), dout.data_as<float>(), a.data_as<float>(), v, a.numel(), op);
  return da;
}

TensorPtr unary_forward(Unary op, const TensorImpl& x) {
  std::string n = name(op);
  const char* o = n.c_str();
  check_dtype(o, x, DType::Float32, "input");
  TensorPtr out = empty(o, x.shape(), DType::Float32, x.device());
  CG_ON_DEVICE(x.device(), unary_forward, out->data_as<float>(), x.data_as<float>(), x.numel(), op);
  return out;
}

TensorPtr unary_backward(Unary op, const TensorImpl& dout, const TensorImpl& x, const TensorImpl* out) {
  std::string n = name(op, " backward");
  const char* o = n.c_str();
  check_dtype(o, x, DType::Float32, "input");
  check_dtype(o, dout, DType::Float32, "dout");
  check_same_device(o, {&dout, &x});
  check_same_shape(o, dout, "dout", x, "input");
  if (out) {
    check_dtype(o, *out, DType::Float32, "out");
    check_same_device(o, {out, &x});
    check_same_shape(o, *out, "out", x, "input");
  }
  TensorPtr dinp = empty(o, x.shape(), DType::Float32, x.device());
  CG_ON_DEVICE(x.device(), unary_backward, dinp->data_as<float>(), dout.data_as<float>(), x.data_as<float>(),
              out ? out->data_as<float>() : nullptr, x.numel(), op);
  return dinp;
}

namespace {

std::pair<float, float> clamp_bounds(const char* op, std::optional<double> lo, std::optional<double> hi) {
  if (!lo && !hi) throw_type_error(op, ": at least one of min and max must be given");
  if (lo && std::isnan(*lo)) throw_range_error(op, ": min is NaN");
  if (hi && std::isnan(*hi)) throw_range_error(op, ": max is NaN");
  return {lo ? scalar_arg(op, *lo) : -INFINITY, hi ? scalar_arg(op, *hi) : INFINITY};
}

}  // namespace

TensorPtr clamp_forward(const TensorImpl& x, std::optional<double> lo, std::optional<double> hi) {
  const char* o = "cudagrad.clamp";
  check_dtype(o, x, DType::Float32, "input");
  auto [l, h] = clamp_bounds(o, lo, hi);
  TensorPtr out = empty(o, x.shape(), DType::Float32, x.device());
  CG_ON_DEVICE(x.device(), clamp_forward, out->data_as<float>(), x.data_as<float>(), x.numel(), l, h);
  return out;
}

TensorPtr clamp_backward(const TensorImpl& dout, const TensorImpl& x, std::optional<double> lo, std::optional<double> hi) {
  const char* o = "cudagrad.clamp backward";
  check_dtype(o, x, DType::Float32, "input");
  check_dtype(o, dout, DType::Float32, "dout");
  check_same_device(o, {&dout, &x});
  check_same_shape(o, dout, "dout", x, "input");
  auto [l, h] = clamp_bounds(o, lo, hi);
  TensorPtr dinp = empty(o, x.shape(), DType::Float32, x.device());
  CG_ON_DEVICE(x.device(), clamp_backward, dinp->data_as<float>(), dout.data_as<float>(), x.data_as<float>(), x.numel(), l, h);
  return dinp;
}

}  // namespace cg::dispatch
