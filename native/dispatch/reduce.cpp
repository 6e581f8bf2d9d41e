// Reduction dispatch (dispatch/reduce.h).
#include "reduce.h"

#include <climits>
#include <string>
#include <utility>
#include <vector>

#include "axis.h"
#include "check.h"
#include "creation.h"
#include "on_device.h"

namespace cg::dispatch {

namespace {

struct Plan {
  AxisSplit s;
  Shape out;
};

// The (outer, len, inner) view and the output shape of a reduction of `x`.
Plan plan(const char* op, const Shape& shape, std::optional<int64_t> axis, bool keepdim) {
  Plan p;
  if (!axis) {
    p.s.len = shape_numel(shape);
    if (keepdim) p.out.assign(shape.size(), 1);
    return p;
  }
  int64_t a = normalize_axis(op, *axis, shape);
  p.s = split_at(shape, a);
  p.out = shape;
  if (!shape.empty()) {
    if (keepdim) p.out[a] = 1;
    else p.out.erase(p.out.begin() + a);
  }
  return p;
}

// max and argmax need something to reduce; argmax's indices are int32.
void check_nonempty(const char* op, const Shape& shape, std::optional<int64_t> axis, const Plan& p) {
  if (p.s.len == 0) {
    if (!axis) throw_range_error(op, ": cannot reduce an empty tensor (shape ", shape_str(shape), ") without an axis");
    throw_range_error(op, ": cannot reduce over axis ", *axis, " of size 0 (shape ", shape_str(shape), ")");
  }
  if (p.s.len > INT32_MAX) throw_range_error(op, ": ", p.s.len, " elements along the reduced axis do not fit int32 indices");
}

std::string axis_desc(std::optional<int64_t> axis) { return axis ? cat("over axis ", *axis) : std::string("over all elements"); }

}  // namespace

const char* reduce_name(Reduce op) {
  switch (op) {
    case Reduce::Sum: return "sum";
    case Reduce::Mean: return "mean";
    default: return "max";
  }
}

TensorPtr reduce_forward(Reduce op, const TensorImpl& x, std::optional<int64_t> axis, bool keepdim) {
  std::string name = cat("cudagrad.", reduce_name(op));
  const char* o = name.c_str();
  check_dtype(o, x, DType::Float32, "input");
  Plan p = plan(o, x.shape(), axis, keepdim);
  if (op == Reduce::Max) check_nonempty(o, x.shape(), axis, p);
  TensorPtr out = empty(o, p.out, DType::Float32, x.device());
  CG_ON_DEVICE(x.device(), reduce_forward, out->data_as<float>(), x.data_as<float>(), p.s.outer, p.s.len, p.s.inner, op);
  return out;
}

TensorPtr argmax_forward(const TensorImpl& x, std::optional<int64_t> axis, bool keepdim) {
  const char* o = "cudagrad.argmax";
  check_dtype(o, x, DType::Float32, "input");
  Plan p = plan(o, x.shape(), axis, keepdim);
  check_nonempty(o, x.shape(), axis, p);
  TensorPtr out = empty(o, p.out, DType::Int32, x.device());
  CG_ON_DEVICE(x.device(), argmax_forward, out->data_as<int32_t>(), x.data_as<float>(), p.s.outer, p.s.len, p.s.inner);
  return out;
}

TensorPtr reduce_backward(Reduce op, const TensorImpl& dout, const TensorImpl& x, std::optional<int64_t> axis, bool keepdim) {
  std::string name = cat("cudagrad.", reduce_name(op), " backward");
  const char* o = name.c_str();
  check_dtype(o, x, DType::Float32, "input");
  check_dtype(o, dout, DType::Float32, "dout");
  check_same_device(o, {&dout, &x});
  Plan p = plan(o, x.shape(), axis, keepdim);
  if (dout.shape() != p.out)
    throw_range_error(o, ": dout has shape ", shape_str(dout.shape()), " but the ", reduce_name(op), " of shape ", shape_str(x.shape()), " ",
                      axis_desc(axis), keepdim ? " (keepdim)" : "", " has shape ", shape_str(p.out));
  TensorPtr dinp = empty(o, x.shape(), DType::Float32, x.device());
  if (op != Reduce::Max) {
    CG_ON_DEVICE(x.device(), reduce_backward, dinp->data_as<float>(), dout.data_as<float>(), p.s.outer, p.s.len, p.s.inner, op);
    return dinp;
  }
  check_nonempty(o, x.shape(), axis, p);
  TensorPtr idx = empty(o, p.out, DType::Int32, x.device());
  CG_ON_DEVICE(x.device(), argmax_forward, idx->data_as<int32_t>(), x.data_as<float>(), p.s.outer, p.s.len, p.s.inner);
  CG_ON_DEVICE(x.device(), max_backward, dinp->data_as<float>(), dout.data_as<float>(), idx->data_as<int32_t>(), p.s.outer, p.s.len,
              p.s.inner);
  return dinp;
}

TensorPtr sum_to_shape(const char* op, const TensorImpl& src, const Shape& target) {
  const Shape& s = src.shape();
  const size_t off = s.size() - target.size();
  // Runs of src dims that are kept or summed; size-1 dims of src drop out.
  std::vector<std::pair<int64_t, bool>> runs;  // (size, summed)
  for (size_t d = 0; d < s.size(); ++d) {
    if (s[d] == 1) continue;
    bool summed = d < off || target[d - off] == 1;
    if (!runs.empty() && runs.back().second == summed) runs.back().first *= s[d];
    else runs.emplace_back(s[d], summed);
  }
  int npass = 0;
  for (auto& r : runs) npass += r.second;
  if (npass == 0) return reshape(op, *clone(op, src), target);  // only size-1 dims differ
  // One pass per summed run, innermost first; the last pass writes `target`.
  TensorPtr cur;
  for (int pass = 0; pass < npass; ++pass) {
    size_t k = runs.size();
    while (!runs[--k].second) {
    }
    int64_t outer = 1, inner = 1;
    for (size_t j = 0; j < runs.size(); ++j) (j < k ? outer : inner) *= j == k ? 1 : runs[j].first;
    Shape shape = pass + 1 == npass ? target : Shape{outer * inner};
    TensorPtr next = empty(op, shape, DType::Float32, src.device());
    const float* from = cur ? cur->data_as<float>() : src.data_as<float>();
    CG_ON_DEVICE(src.device(), reduce_forward, next->data_as<float>(), from, outer, runs[k].first, inner, Reduce::Sum);
    cur = std::move(next);
    runs.erase(runs.begin() + static_cast<int64_t>(k));
    if (k > 0 && k < runs.size() && runs[k - 1].second == runs[k].second) {
      runs[k - 1].first *= runs[k].first;
      runs.erase(runs.begin() + static_cast<int64_t>(k));
    }
  }
  return cur;
}

}  // namespace cg::dispatch
