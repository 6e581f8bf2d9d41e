// Matmul / linear / raw GEMM dispatch: float32 tensors, validation, output
// allocation, and the mapping of broadcast batches onto strided-batch GEMM
// calls (no copies of broadcast operands).
//   matmul(a, b): torch.matmul semantics (1-D operands promoted then removed,
//     batch dims broadcast). matmul_backward returns da, db with the broadcast
//     batch dims summed back to each input's shape.
//   linear(x (..., in), weight (out, in), bias (out) | null) = act(x @ weight^T + bias),
//     the bias and activation fused into the GEMM epilogue.
//   linear_backward -> dx (..., in), dweight (out, in), dbias (out) (no activation).
// Every result is a new tensor (gradients assign).
#pragma once

#include "../ops/gemm.h"
#include "../runtime/tensor.h"

namespace cg::dispatch {

TensorPtr matmul(const TensorImpl& a, const TensorImpl& b);

struct MatmulGrads {
  TensorPtr da, db;
};
MatmulGrads matmul_backward(const TensorImpl& dout, const TensorImpl& a, const TensorImpl& b);

TensorPtr linear(const TensorImpl& x, const TensorImpl& weight, const TensorImpl* bias, bool has_act, Act act);

struct LinearGrads {
  TensorPtr dx, dweight, dbias;  // dbias null without a bias
};
LinearGrads linear_backward(const TensorImpl& dout, const TensorImpl& x, const TensorImpl& weight, bool has_bias);

// BLAS-style GEMM over flat tensors (ops/gemm.h, for tests and power users): returns a copy
// of c updated by the GEMM, and a copy of c holding the pre-activation values when
// want_preact. Every access is bounds-checked against the tensors' sizes.
struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t M = 0, N = 0, K = 0;
  double alpha = 1, beta = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  int64_t batch = 1, stride_a = 0, stride_b = 0, stride_c = 0;
  bool has_act = false;
  Act act = Act::ReLU;
  bool want_preact = false;
};
struct GemmResult {
  TensorPtr out, preact;
};
GemmResult gemm(const GemmArgs& g, const TensorImpl& a, const TensorImpl& b, const TensorImpl& c,
                const TensorImpl* bias);

}  // namespace cg::dispatch
