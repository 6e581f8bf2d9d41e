// Softmax dispatch (dispatch/softmax.h).
#include "softmax.h"

#include <string>

#include "../runtime/error.h"
#include "check.h"
#include "creation.h"
#include "on_device.h"

namespace cg::dispatch {

namespace {

// The (outer, C, inner) view of `shape` around `axis`, and the causal group size.
struct View {
  int64_t outer = 1, C = 1, inner = 1, tq = 0;
};

View softmax_view(const char* op, const Shape& shape, int64_t axis, bool causal) {
  int64_t nd = static_cast<int64_t>(shape.size());
  int64_t span = nd == 0 ? 1 : nd;  // a 0-d tensor is one row of one element
  if (axis < -span || axis >= span)
    throw_range_error(op, ": axis ", axis, " is out of range for shape ", shape_str(shape));
  int64_t a = axis < 0 ? axis + span : axis;
  View v;
  if (nd == 0) return v;
  for (int64_t d = 0; d < a; ++d) v.outer *= shape[d];
  v.C = shape[a];
  for (int64_t d = a + 1; d < nd; ++d) v.inner *= shape[d];
  if (causal) {
    if (nd < 2) throw_range_error(op, ": causal mask needs at least 2 dims (Tq, Tk), got shape ", shape_str(shape));
    if (a != nd - 1)
      throw_range_error(op, ": causal mask needs the last axis, got axis ", axis, " for shape ", shape_str(shape));
    v.tq = shape[nd - 2];
  }
  return v;
}

}  // namespace

TensorPtr softmax_forward(const TensorImpl& inp, int64_t axis, bool causal, bool log) {
  const char* op = log ? "cudagrad.logSoftmax" : "cudagrad.softmax";
  check_dtype(op, inp, DType::Float32, "input");
  View v = softmax_view(op, inp.shape(), axis, causal);
  TensorPtr out = empty(op, inp.shape(), DType::Float32, inp.device());
  CG_ON_DEVICE(inp.device(), softmax_forward, out->data_as<float>(), inp.data_as<float>(), v.outer, v.C, v.inner,
               v.tq, log);
  return out;
}

TensorPtr softmax_backward(const TensorImpl& dout, const TensorImpl& out, int64_t axis, bool causal, bool log) {
  const char* op = log ? "cudagrad.logSoftmax backward" : "cudagrad.softmax backward";
  check_dtype(op, dout, DType::Float32, "dout");
  check_dtype(op, out, DType::Float32, "out");
  check_same_device(op, {&dout, &out});
  check_same_shape(op, dout, "dout", out, "out");
  View v = softmax_view(op, out.shape(), axis, causal);
  TensorPtr dinp = empty(op, out.shape(), DType::Float32, out.device());
  CG_ON_DEVICE(out.device(), softmax_backward, dinp->data_as<float>(), dout.data_as<float>(), out.data_as<float>(),
               v.outer, v.C, v.inner, v.tq, log);
  return dinp;
}

}  // namespace cg::dispatch
