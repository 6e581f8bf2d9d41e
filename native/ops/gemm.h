// GEMM, row-major, strided batch, with a fused epilogue:
//   for b in [0, batch):
//     C_b (M, N) = act(alpha * op(A_b) (M, K) @ op(B_b) (K, N) + beta * C_b + bias (N, per row))
// with op(X) = X or X^T. A_b = A + b * stride_a, stored (M, K) with row stride lda >= K,
// or (K, M) with lda >= M when trans_a; B_b likewise (K, N) / (N, K) with ldb; C_b (M, N)
// with ldc >= N. A stride of 0 broadcasts an operand over the batch (not allowed for C).
//
// Conventions:
// - beta == 0 never reads C (C may hold NaN or garbage); beta == 1 accumulates (+=),
//   which is how parameter gradients (dweight) accumulate; activation gradients assign.
// - alpha == 0 or K == 0 never reads A or B: C = beta * C (+ bias, act).
// - Epilogue, applied once to the finished sum, in this order and rounding:
//   t = alpha * AB (+ beta * C) (+ bias); preact <- t when preact is non-null (same layout
//   as C: ldc, stride_c); C <- has_act ? act(t) : t. act is computed exactly as
//   ops/activation.h computes it, so the fused op equals its unfused composition.
// - linear_bias_backward: dbias (N) += sum over the M rows of dout (M, N) (parameter gradient: +=).
#pragma once

#include <cstdint>

#include "activation.h"

namespace cg {

struct Epilogue {
  const float* bias = nullptr;  // (N) added to every row of C, or null
  bool has_act = false;         // apply `act` after the bias
  Act act = Act::ReLU;
  float* preact = nullptr;      // receives the values before the activation, or null
};

}  // namespace cg

namespace cg::cpu {
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int64_t batch = 1, int64_t stride_a = 0,
          int64_t stride_b = 0, int64_t stride_c = 0, const Epilogue& ep = Epilogue{});
void linear_bias_backward(float* dbias, const float* dout, int64_t M, int64_t N);
}  // namespace cg::cpu

namespace cg::cuda {
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int64_t batch = 1, int64_t stride_a = 0,
          int64_t stride_b = 0, int64_t stride_c = 0, const Epilogue& ep = Epilogue{});
void linear_bias_backward(float* dbias, const float* dout, int64_t M, int64_t N);
}  // namespace cg::cuda
