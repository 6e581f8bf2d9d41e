// Shape-op dispatch (dispatch/shape.h): argument checks, output shapes, the
// merged stride plan for permute, and the element width: the copy kernels are
// instantiated for 4-byte (float32, int32) and 2-byte (bfloat16) elements.
#include "shape.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "axis.h"
#include "check.h"
#include "creation.h"
#include "on_device.h"

namespace cg::dispatch {

namespace {

template <typename T>
T* elems(const TensorImpl& t) { return static_cast<T*>(t.data()); }

// Calls f(T{}) with T the raw element type of `x`: uint32_t for 4-byte dtypes,
// uint16_t for bfloat16; any other width is refused, naming the op and x.
template <class F>
void by_width(const char* op, const TensorImpl& x, F&& f) {
  switch (dtype_size(x.dtype())) {
    case 4: return f(uint32_t{});
    case 2: return f(uint16_t{});
    default:
      throw_type_error(op, ": ", dtype_name(x.dtype()), " tensors are not supported (got one of shape ", shape_str(x.shape()), ")");
  }
}

// Gradients are float32 or bfloat16 (and dinp has dout's dtype, as in torch).
void check_grad_dtype(const char* op, const TensorImpl& dout) {
  if (dout.dtype() != DType::Float32 && dout.dtype() != DType::BFloat16)
    throw_type_error(op, ": dout must be float32 or bfloat16, got ", dtype_name(dout.dtype()), " tensor of shape ", shape_str(dout.shape()));
}

// Python's slice(start, end) on a dim of `len`: (first, count).
std::pair<int64_t, int64_t> resolve_slice(double start, std::optional<double> end, int64_t len) {
  auto clampi = [&](double v) -> int64_t {
    if (v < 0) v += static_cast<double>(len);
    return static_cast<int64_t>(std::min(std::max(v, 0.0), static_cast<double>(len)));
  };
  int64_t s = clampi(start), e = end ? clampi(*end) : len;
  return {s, std::max<int64_t>(0, e - s)};
}

void check_slice_args(const char* op, const Shape& shape, double start, std::optional<double> end) {
  if (shape.empty()) throw_range_error(op, ": cannot slice a 0-d tensor");
  if (std::isnan(start) || (end && std::isnan(*end))) throw_range_error(op, ": start and end must be integers");
}

GatherDims gather_dims(const char* op, const Shape& xshape, int64_t axis, const TensorImpl& index) {
  check_dtype(op, index, DType::Int32, "index");
  const Shape& ishape = index.shape();
  if (ishape.size() != xshape.size())
    throw_range_error(op, ": index has rank ", ishape.size(), " (shape ", shape_str(ishape), ") but the input has rank ", xshape.size(),
                      " (shape ", shape_str(xshape), ")");
  int64_t a = normalize_axis(op, axis, xshape);
  for (size_t d = 0; d < ishape.size(); ++d) {
    if (static_cast<int64_t>(d) != a && ishape[d] > xshape[d])
      throw_range_error(op, ": index shape ", shape_str(ishape), " is larger than input shape ", shape_str(xshape), " at dim ", d,
                        " (only axis ", a, " may be larger)");
  }
  if (xshape.size() > static_cast<size_t>(kMaxShapeDims))
    throw_range_error(op, ": tensors of more than ", kMaxShapeDims, " dims are not supported (shape ", shape_str(xshape), ")");
  GatherDims g;
  g.ndim = xshape.empty() ? 1 : static_cast<int>(xshape.size());
  g.axis = static_cast<int>(a);
  for (int d = 0; d < g.ndim; ++d) {
    g.ishape[d] = ishape.empty() ? 1 : ishape[d];
    g.xshape[d] = xshape.empty() ? 1 : xshape[d];
  }
  return g;
}

// RangeError naming the first index value outside [0, size) and its position.
// CPU tensors only: on CUDA the gather kernels check on the device (ops/shape.h).
void check_index_values(const char* op, const TensorImpl& index, const GatherDims& g) {
  const int64_t size = g.xshape[g.axis];
  int64_t bad[2];
  cpu::gather_check(index.data_as<int32_t>(), index.numel(), size, bad);
  if (bad[0] < 0) return;
  Shape at(index.shape().size());
  for (int64_t d = static_cast<int64_t>(at.size()) - 1, r = bad[0]; d >= 0; --d) {
    at[d] = r % index.shape()[d];
    r /= index.shape()[d];
  }
  throw_range_error(op, ": index ", bad[1], " at position ", shape_str(at), " is out of range for axis ", g.axis, " of size ", size,
                    " (shape ", shape_str(Shape(g.xshape, g.xshape + g.ndim)), ")");
}

}  // namespace

TensorPtr permute(const TensorImpl& x, const std::vector<int64_t>& dims, const char* op) {
  const Shape& xs = x.shape();
  const size_t nd = xs.size();
  std::vector<int64_t> perm(dims.size());
  std::vector<bool> seen(nd, false);
  bool ok = dims.size() == nd;
  for (size_t k = 0; ok && k < dims.size(); ++k) {
    int64_t d = dims[k] < 0 ? dims[k] + static_cast<int64_t>(nd) : dims[k];
    ok = d >= 0 && d < static_cast<int64_t>(nd) && !seen[d];
    if (ok) seen[d] = true, perm[k] = d;
  }
  if (!ok) throw_range_error(op, ": dims ", shape_str(dims), " are not a permutation of the ", nd, " dims of shape ", shape_str(xs));
  Shape out(nd), st(nd);
  for (size_t d = nd, acc = 1; d-- > 0;) st[d] = static_cast<int64_t>(acc), acc *= static_cast<size_t>(xs[d]);
  for (size_t k = 0; k < nd; ++k) out[k] = xs[perm[k]];
  // Merge output dims that are consecutive in the input; drop size-1 dims.
  Strided s;
  for (size_t k = 0; k < nd; ++k) {
    int64_t size = out[k], stride = st[perm[k]];
    if (size == 1) continue;
    if (s.ndim > 0 && s.stride[s.ndim - 1] == stride * size) {
      s.shape[s.ndim - 1] *= size;
      s.stride[s.ndim - 1] = stride;
      continue;
    }
    if (s.ndim == kMaxShapeDims)
      throw_range_error(op, ": permuting shape ", shape_str(xs), " by ", shape_str(dims), " needs more than ", kMaxShapeDims,
                        " dims after merging");
    s.shape[s.ndim] = size;
    s.stride[s.ndim++] = stride;
  }
  if (s.ndim == 0) s.ndim = 1, s.shape[0] = 1, s.stride[0] = 1;
  TensorPtr y = empty(op, out, x.dtype(), x.device());
  by_width(op, x, [&](auto t) {
    using T = decltype(t);
    if (y->numel() > 0) CG_ON_DEVICE(x.device(), permute_forward, elems<T>(*y), elems<T>(x), s);
  });
  return y;
}

TensorPtr transpose(const TensorImpl& x, int64_t dim0, int64_t dim1) {
  const char* op = "cudagrad.transpose";
  const Shape& xs = x.shape();
  std::vector<int64_t> perm(xs.size());
  for (size_t d = 0; d < perm.size(); ++d) perm[d] = static_cast<int64_t>(d);
  int64_t a = normalize_axis(op, dim0, xs, "dim0"), b = normalize_axis(op, dim1, xs, "dim1");
  if (!xs.empty()) std::swap(perm[a], perm[b]);
  return permute(x, perm, op);
}

TensorPtr slice(const TensorImpl& x, int64_t axis, double start, std::optional<double> end) {
  const char* op = "cudagrad.slice";
  check_slice_args(op, x.shape(), start, end);
  int64_t a = normalize_axis(op, axis, x.shape());
  AxisSplit sp = split_at(x.shape(), a);
  auto [first, count] = resolve_slice(start, end, sp.len);
  Shape out = x.shape();
  out[a] = count;
  TensorPtr y = empty(op, out, x.dtype(), x.device());
  by_width(op, x, [&](auto t) {
    using T = decltype(t);
    CG_ON_DEVICE(x.device(), slice_forward, elems<T>(*y), elems<T>(x), sp.outer, sp.len, sp.inner, first, count);
  });
  return y;
}

TensorPtr slice_backward(const TensorImpl& dout, const Shape& input_shape, int64_t axis, double start, std::optional<double> end) {
  const char* op = "cudagrad.slice backward";
  check_grad_dtype(op, dout);
  check_shape(op, input_shape);
  check_slice_args(op, input_shape, start, end);
  int64_t a = normalize_axis(op, axis, input_shape);
  AxisSplit sp = split_at(input_shape, a);
  auto [first, count] = resolve_slice(start, end, sp.len);
  Shape want = input_shape;
  want[a] = count;
  if (dout.shape() != want)
    throw_range_error(op, ": dout has shape ", shape_str(dout.shape()), " but slicing shape ", shape_str(input_shape), " along axis ", axis,
                      " from ", start, " to ", end ? cat(*end) : std::string("the end"), " gives ", shape_str(want));
  TensorPtr dinp = empty(op, input_shape, dout.dtype(), dout.device());
  by_width(op, dout, [&](auto t) {
    using T = decltype(t);
    CG_ON_DEVICE(dout.device(), slice_backward, elems<T>(*dinp), elems<T>(dout), sp.outer, sp.len, sp.inner, first, count);
  });
  return dinp;
}

TensorPtr concat(const std::vector<const TensorImpl*>& xs, int64_t axis) {
  const char* op = "cudagrad.concat";
  if (xs.empty()) throw_range_error(op, ": needs at least one tensor, got an empty list");
  const TensorImpl& x0 = *xs[0];
  if (x0.shape().empty()) throw_range_error(op, ": cannot concatenate 0-d tensors (tensor 0 has shape [])");
  int64_t a = normalize_axis(op, axis, x0.shape());
  Shape out = x0.shape();
  out[a] = 0;
  std::vector<int64_t> lens;
  for (size_t k = 0; k < xs.size(); ++k) {
    const TensorImpl& x = *xs[k];
    if (x.dtype() != x0.dtype())
      throw_type_error(op, ": tensor ", k, " is ", dtype_name(x.dtype()), " but tensor 0 is ", dtype_name(x0.dtype()));
    if (x.device() != x0.device())
      throw_type_error(op, ": tensor ", k, " is on ", x.device().str(), " but tensor 0 is on ", x0.device().str());
    bool same = x.shape().size() == x0.shape().size();
    for (size_t d = 0; same && d < x0.shape().size(); ++d) same = static_cast<int64_t>(d) == a || x.shape()[d] == x0.shape()[d];
    if (!same)
      throw_range_error(op, ": tensor ", k, " has shape ", shape_str(x.shape()), " but tensor 0 has shape ", shape_str(x0.shape()),
                        " (shapes must match except along axis ", a, ")");
    out[a] += x.shape()[a];
    lens.push_back(x.shape()[a]);
  }
  check_shape(op, out);
  TensorPtr y = empty(op, out, x0.dtype(), x0.device());
  AxisSplit sp = split_at(out, a);
  by_width(op, x0, [&](auto t) {
    using T = decltype(t);
    std::vector<const T*> ptrs;
    for (const TensorImpl* x : xs) ptrs.push_back(elems<T>(*x));
    CG_ON_DEVICE(x0.device(), concat_forward, elems<T>(*y), ptrs.data(), lens.data(), static_cast<int64_t>(lens.size()), sp.outer, sp.inner);
  });
  return y;
}

std::vector<TensorPtr> split(const TensorImpl& x, const std::vector<int64_t>& sizes, int64_t axis, const char* op) {
  if (x.shape().empty()) throw_range_error(op, ": cannot split a 0-d tensor");
  int64_t a = normalize_axis(op, axis, x.shape());
  AxisSplit sp = split_at(x.shape(), a);
  int64_t total = 0;
  for (int64_t n : sizes) {
    if (n < 0) throw_range_error(op, ": sizes ", shape_str(sizes), " has a negative size");
    total += n;
  }
  if (total != sp.len)
    throw_range_error(op, ": sizes ", shape_str(sizes), " sum to ", total, " but axis ", a, " of shape ", shape_str(x.shape()), " has size ",
                      sp.len);
  std::vector<TensorPtr> out;
  int64_t first = 0;
  for (int64_t n : sizes) {
    Shape shape = x.shape();
    shape[a] = n;
    TensorPtr y = empty(op, shape, x.dtype(), x.device());
    by_width(op, x, [&](auto t) {
      using T = decltype(t);
      CG_ON_DEVICE(x.device(), slice_forward, elems<T>(*y), elems<T>(x), sp.outer, sp.len, sp.inner, first, n);
    });
    out.push_back(std::move(y));
    first += n;
  }
  return out;
}

TensorPtr gather(const TensorImpl& x, int64_t axis, const TensorImpl& index) {
  const char* op = "cudagrad.gather";
  check_same_device(op, {&x, &index});
  GatherDims g = gather_dims(op, x.shape(), axis, index);
  TensorPtr y = empty(op, index.shape(), x.dtype(), x.device());
  if (y->numel() == 0) return y;
  if (index.device().is_cpu()) check_index_values(op, index, g);
  by_width(op, x, [&](auto t) {
    using T = decltype(t);
    CG_ON_DEVICE(x.device(), gather_forward, elems<T>(*y), elems<T>(x), index.data_as<int32_t>(), g);
  });
  return y;
}

TensorPtr gather_backward(const TensorImpl& dout, const TensorImpl& index, int64_t axis, const Shape& input_shape) {
  const char* op = "cudagrad.gather backward";
  check_grad_dtype(op, dout);
  check_same_device(op, {&dout, &index});
  check_shape(op, input_shape);
  GatherDims g = gather_dims(op, input_shape, axis, index);
  check_same_shape(op, dout, "dout", index, "index");
  if (index.numel() > 0 && index.device().is_cpu()) check_index_values(op, index, g);
  // A scatter-add: bfloat16 dout is summed in float32 (dout converted exactly),
  // each dinp element rounded to bfloat16 once at the end.
  TensorPtr dout32 = dout.dtype() == DType::Float32 ? nullptr : cast(op, dout, DType::Float32);
  const TensorImpl& d = dout32 ? *dout32 : dout;
  TensorPtr dinp = empty(op, input_shape, DType::Float32, dout.device());
  CG_ON_DEVICE(dout.device(), gather_backward, dinp->data_as<float>(), d.data_as<float>(), index.data_as<int32_t>(), g);
  return dout.dtype() == DType::Float32 ? std::move(dinp) : cast(op, *dinp, dout.dtype());
}

}  // namespace cg::dispatch
