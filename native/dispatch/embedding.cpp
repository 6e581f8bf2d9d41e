// Embedding dispatch (dispatch/embedding.h).
#include "embedding.h"

#include "../runtime/error.h"
#include "check.h"
#include "creation.h"
#include "on_device.h"

namespace cg::dispatch {

namespace {

// Every index in [0, V), read on the host for CPU indices; CUDA indices are
// checked by the kernels on the device (raised at the next sync), never read here.
void check_indices(const char* op, const TensorImpl& idx, int64_t V, const std::string& what) {
  check_dtype(op, idx, DType::Int32, "indices");
  if (!idx.device().is_cpu()) return;
  const int32_t* p = idx.data_as<int32_t>();
  for (int64_t i = 0, n = idx.numel(); i < n; ++i) {
    if (p[i] < 0 || p[i] >= V)
      throw_range_error(op, ": index ", p[i], " at position ", i, " is out of range for ", V, " embeddings (", what, ")");
  }
}

}  // namespace

TensorPtr embedding_forward(const TensorImpl& idx, const TensorImpl& weight) {
  const char* op = "cudagrad.embedding";
  check_dtype(op, weight, DType::Float32, "weight");
  check_same_device(op, {&idx, &weight});
  if (weight.shape().size() != 2)
    throw_range_error(op, ": weight must be 2-D (V, C), got shape ", shape_str(weight.shape()));
  int64_t V = weight.shape()[0], C = weight.shape()[1];
  check_indices(op, idx, V, cat("weight shape ", shape_str(weight.shape())));
  Shape out_shape = idx.shape();
  out_shape.push_back(C);
  TensorPtr out = empty(op, out_shape, DType::Float32, weight.device());
  CG_ON_DEVICE(weight.device(), embedding_forward, out->data_as<float>(), idx.data_as<int32_t>(),
               weight.data_as<float>(), idx.numel(), V, C);
  return out;
}

TensorPtr embedding_backward(const TensorImpl& dout, const TensorImpl& idx, int64_t V) {
  const char* op = "cudagrad.embedding backward";
  check_dtype(op, dout, DType::Float32, "dout");
  check_same_device(op, {&dout, &idx});
  if (V < 0) throw_range_error(op, ": V (the number of embeddings) must be >= 0, got ", V);
  const Shape& ds = dout.shape();
  Shape lead(ds.begin(), ds.end() - (ds.empty() ? 0 : 1));
  if (ds.empty() || lead != idx.shape())
    throw_range_error(op, ": dout must have shape ", shape_str(idx.shape()), " + [C] for indices of shape ",
                      shape_str(idx.shape()), ", got ", shape_str(ds));
  check_indices(op, idx, V, cat("V = ", V));
  int64_t C = ds.back();
  TensorPtr dweight = full(op, {V, C}, DType::Float32, 0.0, dout.device());
  CG_ON_DEVICE(dout.device(), embedding_backward, dweight->data_as<float>(), dout.data_as<float>(),
               idx.data_as<int32_t>(), idx.numel(), V, C);
  return dweight;
}

}  // namespace cg::dispatch
