// Emulated PTX (CUDAGRAD_EMULATE_CUDA builds): tensor-core mma for tf32 and
// bf16 with the PTX ISA fragment layouts, ldmatrix (plain and .trans), and
// cp.async groups; plus the planted bugs the emulator must expose (a wrong
// fragment index, a missing cp.async wait).
#if defined(CG_EMULATE_CUDA)

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <vector>

#include "../../native/cuda/launch.h"
#include "../../native/cuda/ptx.cuh"
#include "harness.h"

namespace {

// --- kernels (one warp)

// D (16x8) = A (16x8) B (8x8), row-major A and B in global memory; swap_bug loads a1/a2 swapped.
__global__ void mma_tf32_kernel(const float* A, const float* B, float* D, bool swap_bug) {
  int lane = threadIdx.x, g = lane >> 2, t = lane & 3;
  uint32_t a[4], b[2];
  a[0] = cg::ptx::cvt_tf32(A[g * 8 + t]);
  a[1] = cg::ptx::cvt_tf32(A[(g + 8) * 8 + t]);
  a[2] = cg::ptx::cvt_tf32(A[g * 8 + t + 4]);
  a[3] = cg::ptx::cvt_tf32(A[(g + 8) * 8 + t + 4]);
  if (swap_bug) {
    uint32_t tmp = a[1];
    a[1] = a[2];
    a[2] = tmp;
  }
  b[0] = cg::ptx::cvt_tf32(B[t * 8 + g]);
  b[1] = cg::ptx::cvt_tf32(B[(t + 4) * 8 + g]);
  float c[4] = {0, 0, 0, 0}, d[4];
  cg::ptx::mma_tf32_16x8x8(d, a, b, c);
  D[g * 8 + 2 * t] = d[0];
  D[g * 8 + 2 * t + 1] = d[1];
  D[(g + 8) * 8 + 2 * t] = d[2];
  D[(g + 8) * 8 + 2 * t + 1] = d[3];
}

uint32_t pack(__nv_bfloat16 lo, __nv_bfloat16 hi) { return static_cast<uint32_t>(lo.x) | static_cast<uint32_t>(hi.x) << 16; }

// D (16x8) = A (16x16) B (16x8) + C, bf16 inputs (row-major in global), C = 1.
__global__ void mma_bf16_kernel(const __nv_bfloat16* A, const __nv_bfloat16* B, float* D) {
  int lane = threadIdx.x, g = lane >> 2, t = lane & 3;
  uint32_t a[4], b[2];
  a[0] = pack(A[g * 16 + 2 * t], A[g * 16 + 2 * t + 1]);
  a[1] = pack(A[(g + 8) * 16 + 2 * t], A[(g + 8) * 16 + 2 * t + 1]);
  a[2] = pack(A[g * 16 + 2 * t + 8], A[g * 16 + 2 * t + 9]);
  a[3] = pack(A[(g + 8) * 16 + 2 * t + 8], A[(g + 8) * 16 + 2 * t + 9]);
  b[0] = pack(B[(2 * t) * 8 + g], B[(2 * t + 1) * 8 + g]);
  b[1] = pack(B[(2 * t + 8) * 8 + g], B[(2 * t + 9) * 8 + g]);
  float c[4] = {1, 1, 1, 1}, d[4];
  cg::ptx::mma_bf16_16x8x16(d, a, b, c);
  D[g * 8 + 2 * t] = d[0];
  D[g * 8 + 2 * t + 1] = d[1];
  D[(g + 8) * 8 + 2 * t] = d[2];
  D[(g + 8) * 8 + 2 * t + 1] = d[3];
}

// Copies a 32x8 b16 block (four 8x8 matrices stacked by rows) to shared memory with cp.async
// (waiting or not), then ldmatrix_x4 (optionally .trans); writes each lane's four registers.
__global__ void ldmatrix_kernel(const uint16_t* src, uint32_t* out, bool trans, bool wait) {
  __shared__ __align__(16) uint16_t tile[32 * 8];
  int lane = threadIdx.x;
  for (int i = 0; i < 32; ++i) tile[i * 8 + (lane % 8)] = 0xffff;  // stale contents
  __syncwarp();
  cg::ptx::cp_async_16(&tile[lane * 8], &src[lane * 8]);  // one 16-byte row per lane
  cg::ptx::cp_async_commit();
  if (wait) cg::ptx::cp_async_wait<0>();
  __syncwarp();
  uint32_t r[4];
  if (trans) cg::ptx::ldmatrix_x4_trans(r, &tile[lane * 8]);
  else cg::ptx::ldmatrix_x4(r, &tile[lane * 8]);
  for (int j = 0; j < 4; ++j) out[lane * 4 + j] = r[j];
}

template <typename T>
struct Dev {
  T* p = nullptr;
  explicit Dev(const std::vector<T>& h) {
    cudaMalloc(reinterpret_cast<void**>(&p), h.size() * sizeof(T));
    cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice);
  }
  ~Dev() { cudaFree(p); }
  std::vector<T> get(size_t n) const {
    std::vector<T> h(n);
    cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost);
    return h;
  }
};

float tf32_round(float f) {
  uint32_t u = cg::ptx::cvt_tf32(f);
  float r;
  std::memcpy(&r, &u, 4);
  return r;
}

std::vector<float> run_tf32(const std::vector<float>& A, const std::vector<float>& B, bool bug) {
  Dev<float> dA(A), dB(B), dD(std::vector<float>(128));
  LAUNCH(mma_tf32_kernel, 1, 32, 0, nullptr)(dA.p, dB.p, dD.p, bug);
  return dD.get(128);
}

}  // namespace

TEST(emu_mma_tf32_matches_the_reference_product) {
  std::vector<float> A(128), B(64);
  for (int i = 0; i < 128; ++i) A[i] = std::sin(0.37f * i) * 3.f;
  for (int i = 0; i < 64; ++i) B[i] = std::cos(0.11f * i + 1.f);
  std::vector<float> D = run_tf32(A, B, false);
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 8; ++c) {
      double want = 0;
      for (int k = 0; k < 8; ++k) want += double(tf32_round(A[r * 8 + k])) * tf32_round(B[k * 8 + c]);
      CHECK(std::fabs(D[r * 8 + c] - want) <= 1e-5 * (1 + std::fabs(want)));
    }
  CHECK_EQ(cudaGetLastError(), cudaSuccess);
}

TEST(emu_catches_wrong_fragment_index) {
  std::vector<float> A(128), B(64);
  for (int i = 0; i < 128; ++i) A[i] = static_cast<float>(i % 13) - 6.f;
  for (int i = 0; i < 64; ++i) B[i] = static_cast<float>(i % 7) - 3.f;
  std::vector<float> good = run_tf32(A, B, false), bad = run_tf32(A, B, true);
  int differ = 0;
  for (int i = 0; i < 128; ++i) differ += good[i] != bad[i];
  CHECK(differ > 0);
}

TEST(emu_tf32_rounding_is_round_half_away) {
  CHECK_EQ(tf32_round(1.0f), 1.0f);
  CHECK_EQ(tf32_round(1.0f + 1.0f / 2048), 1.0f + 1.0f / 1024);  // exactly half an ulp: away from zero
  CHECK_EQ(tf32_round(-(1.0f + 1.0f / 2048)), -(1.0f + 1.0f / 1024));
  CHECK_EQ(tf32_round(1.0f + 1.0f / 4096), 1.0f);
}

TEST(emu_mma_bf16_matches_the_reference_product) {
  std::vector<__nv_bfloat16> A(256), B(128);
  std::vector<float> Af(256), Bf(128);
  for (int i = 0; i < 256; ++i) Af[i] = __bfloat162float(A[i] = __float2bfloat16(std::sin(0.21f * i)));
  for (int i = 0; i < 128; ++i) Bf[i] = __bfloat162float(B[i] = __float2bfloat16(std::cos(0.13f * i) * 2.f));
  Dev<__nv_bfloat16> dA(A), dB(B);
  Dev<float> dD(std::vector<float>(128));
  LAUNCH(mma_bf16_kernel, 1, 32, 0, nullptr)(dA.p, dB.p, dD.p);
  std::vector<float> D = dD.get(128);
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 8; ++c) {
      double want = 1;
      for (int k = 0; k < 16; ++k) want += double(Af[r * 16 + k]) * Bf[k * 8 + c];
      CHECK(std::fabs(D[r * 8 + c] - want) <= 1e-5 * (1 + std::fabs(want)));
    }
}

TEST(emu_ldmatrix_and_cp_async) {
  std::vector<uint16_t> src(256);
  for (int i = 0; i < 256; ++i) src[i] = static_cast<uint16_t>(i);
  Dev<uint16_t> ds(src);
  Dev<uint32_t> dout(std::vector<uint32_t>(128));
  for (bool trans : {false, true}) {
    LAUNCH(ldmatrix_kernel, 1, 32, 0, nullptr)(ds.p, dout.p, trans, true);
    std::vector<uint32_t> r = dout.get(128);
    for (int lane = 0; lane < 32; ++lane)
      for (int j = 0; j < 4; ++j) {
        int a = lane / 4, b = 2 * (lane % 4);
        // matrix j is rows 8j..8j+7 of the 32x8 block; element (row, col) = (8j + row) * 8 + col
        int lo = trans ? (8 * j + b) * 8 + a : (8 * j + a) * 8 + b;
        int hi = trans ? (8 * j + b + 1) * 8 + a : (8 * j + a) * 8 + b + 1;
        CHECK_EQ(r[lane * 4 + j], static_cast<uint32_t>(lo) | static_cast<uint32_t>(hi) << 16);
      }
  }
  // Without cp_async_wait the copy has not landed: ldmatrix reads the stale tile.
  LAUNCH(ldmatrix_kernel, 1, 32, 0, nullptr)(ds.p, dout.p, false, false);
  std::vector<uint32_t> stale = dout.get(128);
  CHECK_EQ(stale[0], 0xffffffffu);
}

#endif  // CG_EMULATE_CUDA
