// Emulated PTX (CUDAGRAD_EMULATE_CUDA builds): tensor-core mma for tf32 and
// bf16 with the PTX ISA fragment layouts, ldmatrix (plain and .trans),
// cp.async groups, and sm_90a wgmma (descriptors, the m64nNk16 accumulator
// fragment, fence / commit / wait); plus the planted bugs the emulator must
// expose (a wrong fragment index, a missing cp.async wait, a wrong descriptor
// stride, a wrong accumulator index, a missing wgmma fence or wait).
#if defined(CG_EMULATE_CUDA)

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <string>
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

// One warpgroup: A (64x16) and B (16x128, given as B^T (128x16)) bf16, row-major in global,
// stored into dynamic shared memory K-major without swizzle with the layout's strides; then
// D (64x128, row-major in global, holding C on entry) = A B (+ C) by one wgmma, read back
// through the accumulator fragment. The *_desc fields are what the descriptors say (equal to
// the layout unless a bug is planted).
struct WgCase {
  uint32_t lbo_a = 128, sbo_a = 256;    // A: K-slices adjacent, row groups 256 B apart
  uint32_t lbo_b = 2048, sbo_b = 128;   // B: row groups adjacent, K-slices 2 KiB apart
  uint32_t lbo_a_desc = 128, sbo_a_desc = 256, lbo_b_desc = 2048, sbo_b_desc = 128;
  int accumulate = 1;
  bool fence = true, wait = true, bad_index = false, swizzle = false, disagree = false;
};

constexpr size_t kWgSmem = 16384;  // A at 0, B at 8192

__device__ size_t kmajor_offset(int row, int k, uint32_t lbo, uint32_t sbo) {
  return size_t(row % 8) * 16 + size_t(row / 8) * sbo + size_t(k % 8) * 2 + size_t(k / 8) * lbo;
}

__global__ void wgmma_kernel(const uint16_t* A, const uint16_t* Bt, float* D, WgCase cs) {
  CG_DYNAMIC_SMEM(unsigned char, smem);
  int x = threadIdx.x, w = x / 32, g = (x % 32) / 4, t = x % 4;
  for (int e = x; e < 64 * 16; e += 128) {
    int r = e / 16, k = e % 16;
    std::memcpy(smem + kmajor_offset(r, k, cs.lbo_a, cs.sbo_a), &A[e], 2);
  }
  for (int e = x; e < 128 * 16; e += 128) {
    int n = e / 16, k = e % 16;
    std::memcpy(smem + 8192 + kmajor_offset(n, k, cs.lbo_b, cs.sbo_b), &Bt[e], 2);
  }
  float d[64];
  for (int i = 0; i < 64; ++i) {
    int row = 16 * w + g + 8 * ((i / 2) % 2), col = 8 * (i / 4) + 2 * t + i % 2;
    d[i] = D[row * 128 + col];
  }
  cg::ptx::fence_proxy_async();
  __syncthreads();
  uint64_t da = cg::ptx::smem_desc(smem, cs.lbo_a_desc, cs.sbo_a_desc);
  uint64_t db = cg::ptx::smem_desc(smem + 8192, cs.lbo_b_desc, cs.sbo_b_desc);
  if (cs.swizzle) db |= uint64_t(1) << 62;
  if (cs.disagree && x == 77) da += 1;
  if (cs.fence) cg::ptx::wgmma_fence();
  cg::ptx::wgmma_bf16_m64n128k16(d, da, db, cs.accumulate);
  cg::ptx::wgmma_commit();
  if (cs.wait) cg::ptx::wgmma_wait<0>(d);
  for (int i = 0; i < 64; ++i) {
    int row = 16 * w + g + 8 * (cs.bad_index ? i % 2 : (i / 2) % 2), col = 8 * (i / 4) + 2 * t + i % 2;
    D[row * 128 + col] = d[i];
  }
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

struct WgRun {
  std::vector<float> D;
  cudaError_t err;
  std::string msg;
};

// Inputs exact in bf16; C = 0.25 (i % 9) - 1.
WgRun run_wgmma(const WgCase& cs) {
  std::vector<uint16_t> A(64 * 16), Bt(128 * 16);
  for (int i = 0; i < 64 * 16; ++i) A[i] = __float2bfloat16(std::sin(0.3f * i) * 2.f).x;
  for (int i = 0; i < 128 * 16; ++i) Bt[i] = __float2bfloat16(std::cos(0.17f * i + 0.5f)).x;
  std::vector<float> C(64 * 128);
  for (int i = 0; i < 64 * 128; ++i) C[i] = 0.25f * (i % 9) - 1.f;
  Dev<uint16_t> dA(A), dB(Bt);
  Dev<float> dD(C);
  LAUNCH(wgmma_kernel, 1, 128, kWgSmem, nullptr)(dA.p, dB.p, dD.p, cs);
  cudaError_t err = cudaGetLastError();
  return WgRun{dD.get(64 * 128), err, err == cudaSuccess ? "" : cudaGetErrorString(err)};
}

// max |D - (A B + accumulate C)| relative to 1 + |ref|
double wgmma_error(const WgRun& r, int accumulate) {
  double worst = 0;
  for (int i = 0; i < 64; ++i)
    for (int j = 0; j < 128; ++j) {
      double want = accumulate ? 0.25 * ((i * 128 + j) % 9) - 1.0 : 0.0;
      for (int k = 0; k < 16; ++k) {
        __nv_bfloat16 a, b;
        a.x = __float2bfloat16(std::sin(0.3f * (i * 16 + k)) * 2.f).x;
        b.x = __float2bfloat16(std::cos(0.17f * (j * 16 + k) + 0.5f)).x;
        want += double(__bfloat162float(a)) * __bfloat162float(b);
      }
      worst = std::fmax(worst, std::fabs(r.D[i * 128 + j] - want) / (1 + std::fabs(want)));
    }
  return worst;
}

}  // namespace

TEST(emu_wgmma_bf16_matches_the_reference_product) {
  WgCase cs;
  WgRun r = run_wgmma(cs);
  CHECK_EQ(r.err, cudaSuccess);
  CHECK(wgmma_error(r, 1) <= 1e-6);
  cs.accumulate = 0;  // scale-d = 0: D = A B, the old D ignored
  r = run_wgmma(cs);
  CHECK_EQ(r.err, cudaSuccess);
  CHECK(wgmma_error(r, 0) <= 1e-6);
  // The GEMM kernel's layout (gemm_wgmma.cu): A row groups adjacent too.
  WgCase other;
  other.lbo_a = other.lbo_a_desc = 1024;
  other.sbo_a = other.sbo_a_desc = 128;
  r = run_wgmma(other);
  CHECK_EQ(r.err, cudaSuccess);
  CHECK(wgmma_error(r, 1) <= 1e-6);
}

TEST(emu_wgmma_smem_desc_encodes_the_fields) {
  // Host-side check of the encoding: (x & 0x3FFFF) >> 4 in bits 0-13, 16-29, 32-45, swizzle 0.
  struct Probe {
    static __global__ void k(uint64_t* out) {
      CG_DYNAMIC_SMEM(unsigned char, smem);
      if (threadIdx.x == 0) *out = cg::ptx::smem_desc(smem + 4096 + 48, 2048, 128);
    }
  };
  Dev<uint64_t> out(std::vector<uint64_t>(1));
  LAUNCH(Probe::k, 1, 32, 8192, nullptr)(out.p);
  uint64_t d = out.get(1)[0];
  CHECK_EQ(d & 0x3FFF, uint64_t((4096 + 48) >> 4));
  CHECK_EQ(d >> 16 & 0x3FFF, uint64_t(2048 >> 4));
  CHECK_EQ(d >> 32 & 0x3FFF, uint64_t(128 >> 4));
  CHECK_EQ(d >> 46, uint64_t(0));
}

TEST(emu_wgmma_catches_planted_bugs) {
  WgCase cs;
  cs.sbo_b_desc = 256;  // descriptor stride not the layout's
  WgRun r = run_wgmma(cs);
  CHECK_EQ(r.err, cudaSuccess);
  CHECK(wgmma_error(r, 1) > 1e-2);
  cs = WgCase{};
  cs.lbo_a_desc = 256, cs.sbo_a_desc = 128;  // LBO and SBO swapped
  r = run_wgmma(cs);
  CHECK(wgmma_error(r, 1) > 1e-2);
  cs = WgCase{};
  cs.bad_index = true;  // accumulator row from the wrong register bit
  r = run_wgmma(cs);
  CHECK(wgmma_error(r, 1) > 1e-2);
  // Protocol errors fail the launch, naming the problem.
  cs = WgCase{};
  cs.wait = false;
  r = run_wgmma(cs);
  CHECK(r.err != cudaSuccess && r.msg.find("not retired by a wgmma.wait_group") != std::string::npos);
  cs = WgCase{};
  cs.fence = false;
  r = run_wgmma(cs);
  CHECK(r.err != cudaSuccess && r.msg.find("no wgmma.fence") != std::string::npos);
  cs = WgCase{};
  cs.swizzle = true;
  r = run_wgmma(cs);
  CHECK(r.err != cudaSuccess && r.msg.find("swizzle mode 1") != std::string::npos);
  cs = WgCase{};
  cs.disagree = true;
  r = run_wgmma(cs);
  CHECK(r.err != cudaSuccess && r.msg.find("different descriptors") != std::string::npos);
}

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
