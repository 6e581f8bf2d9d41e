// Cross-entropy dispatch (dispatch/loss.h).
#include "loss.h"

#include "../runtime/error.h"
#include "check.h"
#include "creation.h"
#include "on_device.h"

namespace cg::dispatch {

namespace {

// Shapes, dtypes, devices, and the target values of CPU targets. CUDA targets
// are checked by the kernels on the device (raised at the next sync): no host
// read, no sync.
void check_inputs(const char* op, const TensorImpl& logits, const TensorImpl& targets, int32_t ignore_index) {
  check_dtype(op, logits, DType::Float32, "logits");
  check_dtype(op, targets, DType::Int32, "targets");
  check_same_device(op, {&logits, &targets});
  if (logits.shape().size() != 2)
    throw_range_error(op, ": logits must be 2-D (N, C), got shape ", shape_str(logits.shape()));
  int64_t N = logits.shape()[0], C = logits.shape()[1];
  if (targets.shape() != Shape{N})
    throw_range_error(op, ": targets must have shape [", N, "] for logits of shape ", shape_str(logits.shape()),
                      ", got ", shape_str(targets.shape()));
  if (!targets.device().is_cpu()) return;
  const int32_t* t = targets.data_as<int32_t>();
  for (int64_t n = 0; n < N; ++n) {
    if (t[n] == ignore_index) continue;
    if (t[n] < 0 || t[n] >= C)
      throw_range_error(op, ": target ", t[n], " at row ", n, " is out of range for ", C, " classes (expected 0..",
                        C - 1, " or ignoreIndex ", ignore_index, ")");
  }
}

}  // namespace

TensorPtr crossentropy_forward(const TensorImpl& logits, const TensorImpl& targets, int32_t ignore_index,
                               Reduction reduction) {
  const char* op = "cudagrad.crossEntropy";
  check_inputs(op, logits, targets, ignore_index);
  int64_t N = logits.shape()[0], C = logits.shape()[1];
  TensorPtr losses = empty(op, {N}, DType::Float32, logits.device());
  CG_ON_DEVICE(logits.device(), crossentropy_forward, losses->data_as<float>(), logits.data_as<float>(),
               targets.data_as<int32_t>(), N, C, ignore_index);
  if (reduction == Reduction::None) return losses;
  // 'mean' divides by the number of non-ignored targets (0 when none: loss 0, gradient 0).
  TensorPtr out = empty(op, {}, DType::Float32, logits.device());
  CG_ON_DEVICE(logits.device(), crossentropy_reduce, out->data_as<float>(), losses->data_as<float>(),
               targets.data_as<int32_t>(), N, ignore_index, reduction == Reduction::Mean);
  return out;
}

CrossEntropyWithGrad crossentropy_forward_backward(const TensorImpl& logits, const TensorImpl& targets,
                                                   int32_t ignore_index, Reduction reduction) {
  const char* op = "cudagrad.crossEntropy";
  if (reduction == Reduction::None)
    throw_range_error(op, ": the fused forward-backward takes reduction mean or sum (a scalar loss), not none");
  check_inputs(op, logits, targets, ignore_index);
  int64_t N = logits.shape()[0], C = logits.shape()[1];
  TensorPtr losses = empty(op, {N}, DType::Float32, logits.device());
  TensorPtr dlogits = empty(op, logits.shape(), DType::Float32, logits.device());
  CG_ON_DEVICE(logits.device(), crossentropy_forward_backward, losses->data_as<float>(), dlogits->data_as<float>(),
               logits.data_as<float>(), targets.data_as<int32_t>(), N, C, ignore_index, reduction == Reduction::Mean);
  TensorPtr out = empty(op, {}, DType::Float32, logits.device());
  CG_ON_DEVICE(logits.device(), crossentropy_reduce, out->data_as<float>(), losses->data_as<float>(),
               targets.data_as<int32_t>(), N, ignore_index, reduction == Reduction::Mean);
  return {std::move(out), std::move(dlogits)};
}

TensorPtr crossentropy_backward(const TensorImpl& dloss, const TensorImpl& logits, const TensorImpl& targets,
                                int32_t ignore_index, Reduction reduction) {
  const char* op = "cudagrad.crossEntropy backward";
  check_inputs(op, logits, targets, ignore_index);
  check_dtype(op, dloss, DType::Float32, "dloss");
  check_same_device(op, {&dloss, &logits});
  int64_t N = logits.shape()[0], C = logits.shape()[1];
  if (reduction == Reduction::None) {
    if (dloss.shape() != Shape{N})
      throw_range_error(op, ": dloss must have shape [", N, "] (reduction none), got ", shape_str(dloss.shape()));
  } else if (dloss.numel() != 1) {
    throw_range_error(op, ": dloss must have one element (reduction ", reduction == Reduction::Mean ? "mean" : "sum",
                      "), got shape ", shape_str(dloss.shape()));
  }
  TensorPtr dlogits = empty(op, logits.shape(), DType::Float32, logits.device());
  CG_ON_DEVICE(logits.device(), crossentropy_backward, dlogits->data_as<float>(), dloss.data_as<float>(),
               reduction == Reduction::None ? 1 : 0, logits.data_as<float>(), targets.data_as<int32_t>(), N, C,
               ignore_index, reduction == Reduction::Mean);
  return dlogits;
}

}  // namespace cg::dispatch
