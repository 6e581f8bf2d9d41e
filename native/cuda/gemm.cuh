// Shared by the CUDA GEMM kernels (gemm.cu, gemm_wgmma.cu): parameters, block
// tile, the epilogue and the bounds-checked operand loads; and the hooks of the
// sm_90a wgmma path.
#pragma once

#include <cstdint>

#include "../ops/gemm.h"
#include "act.cuh"
#include "launch.h"

namespace cg::cuda::gemm_detail {

struct GemmParams {
  int M, N, K, batch;
  float alpha, beta;
  const float* A;
  int64_t lda, sA;
  const float* B;
  int64_t ldb, sB;
  float* C;
  int64_t ldc, sC;
  const float* bias;
  float* preact;
  bool has_act;
  Act act;
  bool vec_a, vec_b;  // 16-byte loads allowed along the operand's contiguous dimension
};

constexpr int kThreads = 256;
constexpr int BM = 128, BN = 128;

__device__ __forceinline__ void epilogue(const GemmParams& p, float* C, float* pre, int r, int c, float acc) {
  if (r >= p.M || c >= p.N) return;
  int64_t i = static_cast<int64_t>(r) * p.ldc + c;
  float t = p.alpha * acc;
  if (p.beta != 0.f) t += p.beta * C[i];
  if (p.bias) t += p.bias[c];
  if (pre) pre[i] = t;
  C[i] = p.has_act ? act_fwd(t, p.act) : t;
}

// Four consecutive elements along an operand's contiguous dimension, starting at
// (row, col) of its stored (rows x cols, ld) matrix; zeros outside.
__device__ __forceinline__ float4 load4(const float* X, int64_t ld, int rows, int cols, int row, int col, bool vec) {
  if (row >= rows) return make_float4(0.f, 0.f, 0.f, 0.f);
  const float* p = X + static_cast<int64_t>(row) * ld + col;
  if (vec && col + 3 < cols) return *reinterpret_cast<const float4*>(p);
  float v[4];
  for (int j = 0; j < 4; ++j) v[j] = col + j < cols ? p[j] : 0.f;
  return make_float4(v[0], v[1], v[2], v[3]);
}

// Compute capability major of the current device (cached; 0 if unknown).
int device_major();

// gemm_wgmma.cu. Selected when CUDAGRAD_GEMM_WGMMA=1 (read once), the current
// device is compute capability 9.x and the binary holds sm_90a code (or under
// the emulator, whose device is a pretend sm_90). Off by default: it has not
// been validated on a GPU yet.
bool wgmma_selected();
bool wgmma_available();  // an sm_90 device and sm_90a code in this binary (the emulator counts)
// Launches the 'medium' (bf16) wgmma kernel on the same grid as the others.
void launch_wgmma(const GemmParams& p, bool trans_a, bool trans_b, dim3 grid);

}  // namespace cg::cuda::gemm_detail
