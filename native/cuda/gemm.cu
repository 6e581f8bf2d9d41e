// CUDA GEMM (ops/gemm.h): C = act(alpha op(A) op(B) + beta C + bias), strided
// batches, all four transpose combinations, any M, N, K.
// - 'highest' precision: a SIMT float32 kernel, 128x128x8 block tiles, 256
//   threads with 8x8 register tiles, 16-byte loads along each operand's
//   contiguous dimension, shared memory double-buffered through registers.
// - 'high' / 'medium' (sm_80+): tensor cores through ptx.cuh: mma.m16n8k8
//   (TF32) or m16n8k16 (bf16) with float32 accumulation; 128x128 block tiles of
//   8 warps (each 64x32), operands converted while staged into K-contiguous
//   shared tiles (padded so that fragment reads are conflict-free).
// - 'medium' on sm_90a with CUDAGRAD_GEMM_WGMMA=1: warpgroup MMA (gemm_wgmma.cu).
// All share the epilogue (gemm.cuh): t = alpha * acc (+ beta * C) (+ bias);
// preact <- t; C <- act(t). beta == 0 never reads C; alpha == 0 or K == 0 never
// reads A, B.
#include <cuda_bf16.h>

#include <type_traits>

#include <atomic>

#include "../runtime/precision.h"
#include "gemm.cuh"
#include "ptx.cuh"

namespace cg::cuda {

namespace {

using namespace gemm_detail;

std::atomic<uint64_t> n_simt{0}, n_mma{0}, n_wgmma{0};

// --- kernels

// SIMT float32. Shared tiles As[k][m], Bs[k][n]; thread (tx, ty) of 16x16 owns rows
// {4ty + i, 64 + 4ty + i} and columns {4tx + j, 64 + 4tx + j}.
template <bool TA, bool TB>
__global__ void __launch_bounds__(kThreads) gemm_simt(GemmParams p) {
  constexpr int BK = 8;
  __shared__ __align__(16) float As[2][BK][BM];
  __shared__ __align__(16) float Bs[2][BK][BN];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const int ktiles = (p.K + BK - 1) / BK;
  for (int b = blockIdx.z; b < p.batch; b += gridDim.z) {
    const float* A = p.A + b * p.sA;
    const float* B = p.B + b * p.sB;
    float acc[8][8];
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;
    float4 ra, rb;
    // Global -> registers for k-tile kt.
    auto fetch = [&](int kt) {
      int k0 = kt * BK;
      if (TA) ra = load4(A, p.lda, p.K, p.M, k0 + tid / 32, m0 + (tid % 32) * 4, p.vec_a);  // stored (K, M)
      else ra = load4(A, p.lda, p.M, p.K, m0 + tid / 2, k0 + (tid % 2) * 4, p.vec_a);       // stored (M, K)
      if (TB) rb = load4(B, p.ldb, p.N, p.K, n0 + tid / 2, k0 + (tid % 2) * 4, p.vec_b);    // stored (N, K)
      else rb = load4(B, p.ldb, p.K, p.N, k0 + tid / 32, n0 + (tid % 32) * 4, p.vec_b);     // stored (K, N)
    };
    // Registers -> shared buffer s.
    auto stash = [&](int s) {
      if (TA) *reinterpret_cast<float4*>(&As[s][tid / 32][(tid % 32) * 4]) = ra;
      else {
        int m = tid / 2, k = (tid % 2) * 4;
        As[s][k][m] = ra.x, As[s][k + 1][m] = ra.y, As[s][k + 2][m] = ra.z, As[s][k + 3][m] = ra.w;
      }
      if (TB) {
        int n = tid / 2, k = (tid % 2) * 4;
        Bs[s][k][n] = rb.x, Bs[s][k + 1][n] = rb.y, Bs[s][k + 2][n] = rb.z, Bs[s][k + 3][n] = rb.w;
      } else *reinterpret_cast<float4*>(&Bs[s][tid / 32][(tid % 32) * 4]) = rb;
    };
    if (ktiles > 0) {
      fetch(0);
      stash(0);
    }
    __syncthreads();
    for (int kt = 0; kt < ktiles; ++kt) {
      int s = kt & 1;
      if (kt + 1 < ktiles) fetch(kt + 1);
#pragma unroll
      for (int k = 0; k < BK; ++k) {
        float4 a0 = *reinterpret_cast<const float4*>(&As[s][k][4 * ty]);
        float4 a1 = *reinterpret_cast<const float4*>(&As[s][k][64 + 4 * ty]);
        float4 b0 = *reinterpret_cast<const float4*>(&Bs[s][k][4 * tx]);
        float4 b1 = *reinterpret_cast<const float4*>(&Bs[s][k][64 + 4 * tx]);
        float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
        float bb[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
        for (int i = 0; i < 8; ++i)
#pragma unroll
          for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], bb[j], acc[i][j]);
      }
      if (kt + 1 < ktiles) stash(s ^ 1);
      __syncthreads();
    }
    float* C = p.C + b * p.sC;
    float* pre = p.preact ? p.preact + b * p.sC : nullptr;
    for (int i = 0; i < 8; ++i) {
      int r = m0 + (i < 4 ? 4 * ty + i : 64 + 4 * ty + i - 4);
      for (int j = 0; j < 8; ++j) epilogue(p, C, pre, r, n0 + (j < 4 ? 4 * tx + j : 64 + 4 * tx + j - 4), acc[i][j]);
    }
  }
}

// Tensor cores. BF16: mma m16n8k16 on bf16 operands; else m16n8k8 on TF32.
// Shared tiles are K-contiguous: As[m][k], Bs[n][k], rows padded for conflict-free fragments.
template <bool TA, bool TB, bool BF16>
__global__ void __launch_bounds__(kThreads) gemm_tc(GemmParams p) {
#if CG_HAS_SM80
  using T = typename std::conditional<BF16, uint16_t, uint32_t>::type;
  constexpr int BK = BF16 ? 32 : 16, LD = BK + (BF16 ? 8 : 4), KSTEP = BF16 ? 16 : 8;
  constexpr int CHUNKS = BM * BK / 4 / kThreads;  // float4 chunks per thread per operand
  __shared__ __align__(16) T As[2][BM][LD];
  __shared__ __align__(16) T Bs[2][BN][LD];
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int g = lane / 4, t = lane % 4;
  const int wm = (warp / 4) * 64, wn = (warp % 4) * 32;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const int ktiles = (p.K + BK - 1) / BK;
  auto conv = [](float x) -> T {
    if constexpr (BF16) return __bfloat16_as_ushort(__float2bfloat16(x));
    else return ptx::cvt_tf32(x);
  };
  for (int b = blockIdx.z; b < p.batch; b += gridDim.z) {
    const float* A = p.A + b * p.sA;
    const float* B = p.B + b * p.sB;
    float acc[4][4][4];
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j)
        for (int c = 0; c < 4; ++c) acc[i][j][c] = 0.f;
    float4 ra[CHUNKS], rb[CHUNKS];
    // Chunk q of a tile: along K (K-contiguous operand) or along M/N (the other case).
    auto fetch = [&](int kt) {
      int k0 = kt * BK;
      for (int q = 0; q < CHUNKS; ++q) {
        int c = tid + q * kThreads;
        if (TA) ra[q] = load4(A, p.lda, p.K, p.M, k0 + c / 32, m0 + (c % 32) * 4, p.vec_a);
        else ra[q] = load4(A, p.lda, p.M, p.K, m0 + c / (BK / 4), k0 + (c % (BK / 4)) * 4, p.vec_a);
        if (TB) rb[q] = load4(B, p.ldb, p.N, p.K, n0 + c / (BK / 4), k0 + (c % (BK / 4)) * 4, p.vec_b);
        else rb[q] = load4(B, p.ldb, p.K, p.N, k0 + c / 32, n0 + (c % 32) * 4, p.vec_b);
      }
    };
    auto put = [&](T (*S)[LD], bool k_contig, int c, float4 v) {
      float e[4] = {v.x, v.y, v.z, v.w};
      if (k_contig) {
        int row = c / (BK / 4), k = (c % (BK / 4)) * 4;
        for (int j = 0; j < 4; ++j) S[row][k + j] = conv(e[j]);
      } else {
        int k = c / 32, row = (c % 32) * 4;
        for (int j = 0; j < 4; ++j) S[row + j][k] = conv(e[j]);
      }
    };
    auto stash = [&](int s) {
      for (int q = 0; q < CHUNKS; ++q) {
        put(As[s], !TA, tid + q * kThreads, ra[q]);
        put(Bs[s], TB, tid + q * kThreads, rb[q]);
      }
    };
    if (ktiles > 0) {
      fetch(0);
      stash(0);
    }
    __syncthreads();
    for (int kt = 0; kt < ktiles; ++kt) {
      int s = kt & 1;
      if (kt + 1 < ktiles) fetch(kt + 1);
#pragma unroll
      for (int ks = 0; ks < BK; ks += KSTEP) {
        uint32_t af[4][4], bf[4][2];
        for (int i = 0; i < 4; ++i) {
          int r = wm + i * 16 + g;
          if constexpr (BF16) {
            af[i][0] = *reinterpret_cast<const uint32_t*>(&As[s][r][ks + 2 * t]);
            af[i][1] = *reinterpret_cast<const uint32_t*>(&As[s][r + 8][ks + 2 * t]);
            af[i][2] = *reinterpret_cast<const uint32_t*>(&As[s][r][ks + 2 * t + 8]);
            af[i][3] = *reinterpret_cast<const uint32_t*>(&As[s][r + 8][ks + 2 * t + 8]);
          } else {
            af[i][0] = As[s][r][ks + t];
            af[i][1] = As[s][r + 8][ks + t];
            af[i][2] = As[s][r][ks + t + 4];
            af[i][3] = As[s][r + 8][ks + t + 4];
          }
        }
        for (int j = 0; j < 4; ++j) {
          int n = wn + j * 8 + g;
          if constexpr (BF16) {
            bf[j][0] = *reinterpret_cast<const uint32_t*>(&Bs[s][n][ks + 2 * t]);
            bf[j][1] = *reinterpret_cast<const uint32_t*>(&Bs[s][n][ks + 2 * t + 8]);
          } else {
            bf[j][0] = Bs[s][n][ks + t];
            bf[j][1] = Bs[s][n][ks + t + 4];
          }
        }
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 4; ++j) {
            if constexpr (BF16) ptx::mma_bf16_16x8x16(acc[i][j], af[i], bf[j], acc[i][j]);
            else ptx::mma_tf32_16x8x8(acc[i][j], af[i], bf[j], acc[i][j]);
          }
      }
      if (kt + 1 < ktiles) stash(s ^ 1);
      __syncthreads();
    }
    float* C = p.C + b * p.sC;
    float* pre = p.preact ? p.preact + b * p.sC : nullptr;
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        int r = m0 + wm + i * 16 + g, c = n0 + wn + j * 8 + 2 * t;
        epilogue(p, C, pre, r, c, acc[i][j][0]);
        epilogue(p, C, pre, r, c + 1, acc[i][j][1]);
        epilogue(p, C, pre, r + 8, c, acc[i][j][2]);
        epilogue(p, C, pre, r + 8, c + 1, acc[i][j][3]);
      }
  }
#endif
}

// dbias (N) += column sums of dout (M, N): 32 columns per block, 8 row groups reduced in shared memory.
__global__ void bias_backward_kernel(float* dbias, const float* dout, int64_t M, int64_t N) {
  __shared__ float part[8][33];
  int64_t c = blockIdx.x * 32 + threadIdx.x;
  float s = 0.f;
  if (c < N)
    for (int64_t r = threadIdx.y; r < M; r += 8) s += dout[r * N + c];
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && c < N) {
    float total = 0.f;
    for (int y = 0; y < 8; ++y) total += part[y][threadIdx.x];
    dbias[c] += total;
  }
}

template <bool TA, bool TB>
void launch_typed(const GemmParams& p, dim3 grid, MatmulPrecision prec, bool tc) {
  if (tc && prec == MatmulPrecision::Medium) {
    LAUNCH((gemm_tc<TA, TB, true>), grid, kThreads, 0, stream())(p);
    n_mma++;
  } else if (tc && prec == MatmulPrecision::High) {
    LAUNCH((gemm_tc<TA, TB, false>), grid, kThreads, 0, stream())(p);
    n_mma++;
  } else {
    LAUNCH((gemm_simt<TA, TB>), grid, kThreads, 0, stream())(p);
    n_simt++;
  }
}

bool aligned16(const void* ptr) { return (reinterpret_cast<uintptr_t>(ptr) & 15) == 0; }

// Tensor cores need sm_80+ (the device the caller made current).
bool has_tensor_cores() { return device_major() >= 8; }

}  // namespace

int gemm_detail::device_major() {
  static int major[64] = {};
  int dev = 0;
  cudaGetDevice(&dev);
  if (!major[dev]) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, dev) != cudaSuccess) return 0;
    major[dev] = prop.major;
  }
  return major[dev];
}

// --- launchers

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int64_t batch, int64_t stride_a,
          int64_t stride_b, int64_t stride_c, const Epilogue& ep) {
  if (M <= 0 || N <= 0 || batch <= 0) return;
  GemmParams p;
  p.M = static_cast<int>(M);
  p.N = static_cast<int>(N);
  p.K = alpha == 0.f ? 0 : static_cast<int>(K);  // alpha == 0: A and B are never read
  p.batch = static_cast<int>(batch);
  p.alpha = alpha;
  p.beta = beta;
  p.A = A, p.lda = lda, p.sA = stride_a;
  p.B = B, p.ldb = ldb, p.sB = stride_b;
  p.C = C, p.ldc = ldc, p.sC = stride_c;
  p.bias = ep.bias;
  p.preact = ep.preact;
  p.has_act = ep.has_act;
  p.act = ep.act;
  p.vec_a = aligned16(A) && lda % 4 == 0 && stride_a % 4 == 0;
  p.vec_b = aligned16(B) && ldb % 4 == 0 && stride_b % 4 == 0;
  dim3 grid(static_cast<unsigned>((N + BN - 1) / BN), static_cast<unsigned>((M + BM - 1) / BM),
            static_cast<unsigned>(batch < 65535 ? batch : 65535));
  MatmulPrecision prec = matmul_precision();
  bool tc = prec != MatmulPrecision::Highest && has_tensor_cores();
  if (tc && prec == MatmulPrecision::Medium && wgmma_selected()) {
    launch_wgmma(p, trans_a, trans_b, grid);
    n_wgmma++;
  } else if (trans_a && trans_b) launch_typed<true, true>(p, grid, prec, tc);
  else if (trans_a) launch_typed<true, false>(p, grid, prec, tc);
  else if (trans_b) launch_typed<false, true>(p, grid, prec, tc);
  else launch_typed<false, false>(p, grid, prec, tc);
  gpu::check_last_launch("gemm");
}

void linear_bias_backward(float* dbias, const float* dout, int64_t M, int64_t N) {
  if (N <= 0) return;
  LAUNCH(bias_backward_kernel, static_cast<unsigned>((N + 31) / 32), dim3(32, 8), 0, stream())(dbias, dout, M, N);
  gpu::check_last_launch("linear bias backward");
}

}  // namespace cg::cuda

namespace cg::gpu {
GemmLaunches gemm_launches() {
  return GemmLaunches{cuda::n_simt.load(), cuda::n_mma.load(), cuda::n_wgmma.load()};
}
bool gemm_wgmma_available() { return cuda::gemm_detail::wgmma_available(); }
}  // namespace cg::gpu
