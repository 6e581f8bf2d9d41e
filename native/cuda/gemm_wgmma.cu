// CUDA GEMM on sm_90a warpgroup MMA (wgmma), 'medium' precision: bf16
// operands rounded from float32 as gemm_tc rounds them (nearest-even), float32
// accumulation; the contract, grid and epilogue of gemm.cu (gemm.cuh).
// Off by default: CUDAGRAD_GEMM_WGMMA=1 selects it on an sm_90 device when the
// binary holds sm_90a code (CG_BUILT_SM90A, from CMake). So far it has run only
// under the SIMT emulator (emu/ptx_emu.cpp emulates wgmma from the PTX ISA).
//
// Block tile 128 (M) x 128 (N) x 64 (K), 256 threads = 2 warpgroups; warpgroup
// w computes rows 64w..64w+63 of the tile with wgmma.m64n128k16 (4 per k-tile),
// its 64x128 float32 accumulator held as 64 registers per thread (fragment in
// ptx.cuh).
// Operands: the same 256 threads load float32 from global memory into
// registers, round to bf16 and store both tiles K-major (whatever the
// transposes) in the no-swizzle canonical layout of ptx.cuh, double-buffered:
// 2 stages x (A + B) x 16 KiB = 64 KiB of dynamic shared memory, opted in above
// the default 48 KiB. TMA is not used: it copies bytes and cannot round float32
// to bf16, so float32 operands pass through registers anyway.
// Per k-tile: wgmma.fence; 4 MMAs on buffer kt&1; commit; while they run, tile
// kt+1 global -> registers -> bf16 into the other buffer (A, then B: 32 staging
// registers next to the 64 accumulators); fence.proxy.async (generic stores ->
// async-proxy reads); wait_group 0; __syncthreads.
#include <cuda_bf16.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "../runtime/error.h"
#include "gemm.cuh"
#include "ptx.cuh"

namespace cg::cuda::gemm_detail {

namespace {

constexpr int WBK = 64;                        // K per tile
constexpr int kTile = BM * WBK;                // bf16 elements of one operand tile (BM == BN)
constexpr int kStage = 2 * kTile;              // A tile, then B tile
constexpr size_t kSmemBytes = 2 * kStage * 2;  // two stages of bf16: 64 KiB
static_assert(BM == BN && BM == 128 && kThreads == 256, "two warpgroups of m64n128 cover the 128x128 tile");

#if CG_HAS_SM90A  // device code for sm_90a (and the emulator) only
constexpr uint32_t kLBO = BM * 8 * 2;             // bytes to the next 8 elements of K
constexpr uint32_t kSBO = 8 * 16;                 // bytes to the next 8 rows
constexpr int kChunks = BM * WBK / 4 / kThreads;  // float4 chunks per thread per operand
constexpr int kGroup = 2;                         // chunks in registers at once

// Element (r, k) of a 128 x 64 tile: 8x8 core matrices of 8 rows x 16 bytes, the 16 row
// groups of one K-slice of 8 adjacent (SBO = 128 B), K-slices 2 KiB apart (LBO).
__device__ __forceinline__ int tile_offset(int r, int k) { return (k / 8) * (BM * 8) + (r / 8) * 64 + (r % 8) * 8 + k % 8; }

__device__ __forceinline__ uint32_t to_bf16(float x) { return __bfloat16_as_ushort(__float2bfloat16(x)); }

// Chunk c of a tile as 4 K-consecutive elements (operand stored K-contiguous): in a warp,
// 4 lanes along K times 8 rows, so that global reads are 64-byte runs.
__device__ __forceinline__ void chunk_along_k(int c, int& row, int& k) {
  row = (c / 4) % 8 + 8 * (c / 128);
  k = 4 * (c % 4 + 4 * ((c / 32) % 4));
}
// ... or as 4 row-consecutive elements at one k (operand stored M- or N-contiguous).
__device__ __forceinline__ void chunk_along_rows(int c, int& row, int& k) {
  k = c / 32;
  row = (c % 32) * 4;
}

__device__ __forceinline__ void put4(uint16_t* tile, bool along_k, int c, float4 v) {
  int row, k;
  if (along_k) {
    chunk_along_k(c, row, k);
    *reinterpret_cast<uint2*>(tile + tile_offset(row, k)) =
        make_uint2(to_bf16(v.x) | to_bf16(v.y) << 16, to_bf16(v.z) | to_bf16(v.w) << 16);
  } else {
    chunk_along_rows(c, row, k);
    tile[tile_offset(row, k)] = static_cast<uint16_t>(to_bf16(v.x));
    tile[tile_offset(row + 1, k)] = static_cast<uint16_t>(to_bf16(v.y));
    tile[tile_offset(row + 2, k)] = static_cast<uint16_t>(to_bf16(v.z));
    tile[tile_offset(row + 3, k)] = static_cast<uint16_t>(to_bf16(v.w));
  }
}

// One operand's BM x WBK tile (rows r0.. of its M or N, K from k0) into `tile` as bf16,
// kGroup chunks in registers at a time. AlongK: the operand is stored K-contiguous,
// (rows, K) with leading dimension ld; else (K, rows).
template <bool AlongK>
__device__ __forceinline__ void stage_tile(uint16_t* tile, const float* X, int64_t ld, int rows, int K, int r0, int k0,
                                           bool vec, int tid) {
#pragma unroll
  for (int h = 0; h < kChunks; h += kGroup) {
    float4 r[kGroup];
#pragma unroll
    for (int q = 0; q < kGroup; ++q) {
      int c = tid + (h + q) * kThreads, row, k;
      if (AlongK) chunk_along_k(c, row, k), r[q] = load4(X, ld, rows, K, r0 + row, k0 + k, vec);
      else chunk_along_rows(c, row, k), r[q] = load4(X, ld, K, rows, k0 + k, r0 + row, vec);
    }
#pragma unroll
    for (int q = 0; q < kGroup; ++q) put4(tile, AlongK, tid + (h + q) * kThreads, r[q]);
  }
}

#endif  // CG_HAS_SM90A

// --- kernels

template <bool TA, bool TB>
__global__ void __launch_bounds__(kThreads) gemm_wgmma(GemmParams p) {
#if CG_HAS_SM90A
  CG_DYNAMIC_SMEM(uint16_t, smem);  // [stage][A tile (BM x WBK), B tile (BN x WBK)]
  const int tid = threadIdx.x, wg = tid / 128, warp = (tid % 128) / 32, g = (tid % 32) / 4, t = tid % 4;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const int ktiles = (p.K + WBK - 1) / WBK;
  for (int b = blockIdx.z; b < p.batch; b += gridDim.z) {
    const float* A = p.A + b * p.sA;
    const float* B = p.B + b * p.sB;
    float acc[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) acc[i] = 0.f;
    // Tile kt of A, then of B, global -> registers -> bf16 in buffer s, kGroup chunks at a
    // time: few staging registers next to the 64 accumulators (ptxas, sm_90a: 255
    // registers; larger groups spill in the main loop).
    auto load_tile = [&](int kt, int s) {
      uint16_t* As = smem + s * kStage;
      stage_tile<!TA>(As, A, p.lda, p.M, p.K, m0, kt * WBK, p.vec_a, tid);
      stage_tile<TB>(As + kTile, B, p.ldb, p.N, p.K, n0, kt * WBK, p.vec_b, tid);
      ptx::fence_proxy_async();  // make the stores visible to wgmma's async-proxy reads
    };
    if (ktiles > 0) load_tile(0, 0);
    __syncthreads();
    for (int kt = 0; kt < ktiles; ++kt) {
      const int s = kt & 1;
      const uint16_t* As = smem + s * kStage + tile_offset(64 * wg, 0);  // this warpgroup's 64 rows
      const uint16_t* Bs = smem + s * kStage + kTile;
      ptx::wgmma_fence();
#pragma unroll
      for (int ks = 0; ks < WBK / 16; ++ks)
        ptx::wgmma_bf16_m64n128k16(acc, ptx::smem_desc(As + tile_offset(0, 16 * ks), kLBO, kSBO),
                                   ptx::smem_desc(Bs + tile_offset(0, 16 * ks), kLBO, kSBO), 1);
      ptx::wgmma_commit();
      // While the MMAs run: the next tile into the other buffer (last read by the MMAs of
      // kt-1, which every warpgroup waited for before the barrier that ended kt-1).
      if (kt + 1 < ktiles) load_tile(kt + 1, s ^ 1);
      ptx::wgmma_wait<0>(acc);
      __syncthreads();
    }
    float* C = p.C + b * p.sC;
    float* pre = p.preact ? p.preact + b * p.sC : nullptr;
    const int r0 = m0 + 64 * wg + 16 * warp + g;
#pragma unroll
    for (int i = 0; i < 64; ++i)
      epilogue(p, C, pre, r0 + 8 * ((i / 2) % 2), n0 + 8 * (i / 4) + 2 * t + i % 2, acc[i]);
  }
#else
  __trap();  // the host selects this kernel only where sm_90a code exists
#endif
}

// --- launchers

template <bool TA, bool TB>
void launch_typed(const GemmParams& p, dim3 grid) {
  static std::mutex mu;
  static bool opted_in[64] = {};
  int dev = 0;
  cudaGetDevice(&dev);
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!opted_in[dev]) {
      CG_CUDA_CHECK(cudaFuncSetAttribute(gemm_wgmma<TA, TB>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(kSmemBytes)),
                    "gemm (wgmma)");
      opted_in[dev] = true;
    }
  }
  LAUNCH((gemm_wgmma<TA, TB>), grid, kThreads, kSmemBytes, stream())(p);
}

}  // namespace

bool wgmma_available() {
#if defined(CG_EMULATE_CUDA) || defined(CG_BUILT_SM90A)
  return device_major() == 9;
#else
  return false;  // no sm_90a code in this binary
#endif
}

bool wgmma_selected() {
  static const bool asked = [] {
    const char* e = std::getenv("CUDAGRAD_GEMM_WGMMA");
    return e != nullptr && std::strcmp(e, "1") == 0;
  }();
  return asked && wgmma_available();
}

void launch_wgmma(const GemmParams& p, bool trans_a, bool trans_b, dim3 grid) {
  if (trans_a && trans_b) launch_typed<true, true>(p, grid);
  else if (trans_a) launch_typed<true, false>(p, grid);
  else if (trans_b) launch_typed<false, true>(p, grid);
  else launch_typed<false, false>(p, grid);
}

}  // namespace cg::cuda::gemm_detail
