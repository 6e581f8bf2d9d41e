// CUDA attention (ops/attention.h): picks an implementation and launches it.
// - head size D <= 128: the tiled flash kernels, templated on DT = the
//   smallest of 32, 64, 96, 128 >= D: attention_simt.cu (float32 SIMT) at
//   'highest' matmul precision, attention_tc.cu (TF32 'high' / bf16 'medium'
//   tensor cores) on sm_80+ devices;
// - D > 128, or a device without the shared memory a tiled kernel needs
//   (sm_75: 64 KB): the general kernels below, one warp per row, any D >= 1
//   (correct, much slower).
// Backward: Delta = rowsum(dout * out) first (delta_kernel, into a scratch
// buffer from the caching allocator), then dk, dv (blocks own key tiles) and
// dq (blocks own query tiles). Each output element is written once, by one
// thread, no atomics: results are bit-for-bit deterministic.
// bfloat16 tensors (*_bf16): the tensor-core kernels read and write them
// directly (bf16 mma whatever the matmul precision) on sm_80+ for D <= 128;
// elsewhere float32 copies (cast kernels, scratch buffers) go through the
// float32 path and the results are cast back.
// No host synchronisation; every launch is checked.
#include "../ops/attention.h"

#include <atomic>
#include <cmath>
#include <mutex>
#include <set>
#include <utility>

#include "../ops/cast.h"
#include "../runtime/error.h"
#include "../runtime/precision.h"
#include "attention.cuh"

namespace cg::cuda {

namespace attn {

// Calls per kernel path since load (gpu::attention_launches).
std::atomic<uint64_t> n_general{0}, n_simt{0}, n_mma{0}, n_mma_bf16{0};

void allow_smem(const void* kernel, size_t bytes, int device) {
  if (bytes <= 48 * 1024) return;
  static std::mutex mu;
  static std::set<std::pair<const void*, int>> done;
  std::lock_guard<std::mutex> lock(mu);
  if (done.count({kernel, device})) return;
  CG_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)),
                "cudagrad.attention");
  done.insert({kernel, device});
}

namespace {

constexpr int kWarps = 4;  // general kernels: one row per warp, 4 warps per block

__device__ __forceinline__ float warp_sum(float x) {
  // Butterfly: every lane ends with the same bits (each step adds the same pair).
  for (int w = 16; w > 0; w >>= 1) x += __shfl_xor_sync(0xffffffffu, x, w);
  return x;
}

template <typename T>  // float, or uint16_t (bf16)
__device__ __forceinline__ float warp_dot(const T* a, const T* b, int D, int lane) {
  float s = 0.f;
  for (int d = lane; d < D; d += 32) s = fmaf(to_f32(a[d]), to_f32(b[d]), s);
  return warp_sum(s);
}

// --- kernels

// delta[row] = sum_d dout[row][d] * out[row][d]
template <typename T>
__global__ void delta_kernel(float* delta, const T* dout, const T* out, int64_t rows, int D) {
  const int64_t row = blockIdx.x * static_cast<int64_t>(kWarps) + threadIdx.x / 32;
  if (row >= rows) return;  // whole warps
  const float s = warp_dot(dout + row * D, out + row * D, D, threadIdx.x & 31);
  if ((threadIdx.x & 31) == 0) delta[row] = s;
}

// General forward: the warp's output row doubles as its accumulator (lane-owned columns).
__global__ void fwd_any(Params p) {
  const int64_t row = blockIdx.x * static_cast<int64_t>(kWarps) + threadIdx.x / 32;
  if (row >= p.BH * p.Tq) return;
  const int lane = threadIdx.x & 31, D = p.D;
  const int64_t bh = row / p.Tq;
  const int i = static_cast<int>(row % p.Tq);
  const MaskRow mrow(p, bh / p.H);
  const float* q = p.q + row * D;
  float* o = p.out + row * D;
  for (int d = lane; d < D; d += 32) o[d] = 0.f;
  float m = neg_inf(), l = 0.f;
  const int jend = p.causal ? min(p.Tk, max(0, i + p.off + 1)) : p.Tk;
  for (int j = 0; j < jend; ++j) {
    const float ma = mrow.log2_term(j);
    if (ma == neg_inf()) continue;  // excluded: k, v never read
    const float* kr = p.k + (bh * p.Tk + j) * D;
    const float* vr = p.v + (bh * p.Tk + j) * D;
    const float x = fmaf(warp_dot(q, kr, D, lane), p.scale_log2, ma);
    const float mnew = x != x || m != m ? __int_as_float(0x7fc00000) : fmaxf(m, x);
    if (mnew == neg_inf()) continue;
    const float pj = exp2f(x - mnew), alpha = exp2f(m - mnew);
    l = l * alpha + pj;
    m = mnew;
    for (int d = lane; d < D; d += 32) o[d] = fmaf(pj, vr[d], o[d] * alpha);
  }
  const bool any = l != 0.f;
  const float inv = any ? 1.f / l : 0.f;
  for (int d = lane; d < D; d += 32) o[d] *= inv;
  if (lane == 0) p.lse[row] = any ? (m + log2f(l)) * kLn2 : INFINITY;
}

// General dk, dv: one warp per key row, over the queries that see it.
__global__ void dkdv_any(Params p) {
  const int64_t row = blockIdx.x * static_cast<int64_t>(kWarps) + threadIdx.x / 32;
  if (row >= p.BH * p.Tk) return;
  const int lane = threadIdx.x & 31, D = p.D;
  const int64_t bh = row / p.Tk;
  const int j = static_cast<int>(row % p.Tk);
  float* dk = p.dk + row * D;
  float* dv = p.dv + row * D;
  for (int d = lane; d < D; d += 32) dk[d] = dv[d] = 0.f;
  const float ma = MaskRow(p, bh / p.H).log2_term(j);
  if (ma == neg_inf()) return;  // excluded key: zero gradients, k, v never read
  const float* kr = p.k + row * D;
  const float* vr = p.v + row * D;
  for (int i = query_begin(p, j); i < p.Tq; ++i) {
    const int64_t qi = bh * p.Tq + i;
    const float L = p.lse_in[qi] * kLog2e;
    if (L == INFINITY) continue;  // a row with no key
    const float* qr = p.q + qi * D;
    const float* dor = p.dout + qi * D;
    const float s = warp_dot(qr, kr, D, lane), dp = warp_dot(dor, vr, D, lane);
    const float pr = exp2f(fmaf(s, p.scale_log2, ma) - L), ds = pr * (dp - p.delta[qi]);
    for (int d = lane; d < D; d += 32) {
      dv[d] = fmaf(pr, dor[d], dv[d]);
      dk[d] = fmaf(ds, qr[d], dk[d]);
    }
  }
  for (int d = lane; d < D; d += 32) dk[d] *= p.scale;
}

// General dq: one warp per query row.
__global__ void dq_any(Params p) {
  const int64_t row = blockIdx.x * static_cast<int64_t>(kWarps) + threadIdx.x / 32;
  if (row >= p.BH * p.Tq) return;
  const int lane = threadIdx.x & 31, D = p.D;
  const int64_t bh = row / p.Tq;
  const int i = static_cast<int>(row % p.Tq);
  float* dq = p.dq + row * D;
  for (int d = lane; d < D; d += 32) dq[d] = 0.f;
  const float L = p.lse_in[row] * kLog2e, delta = p.delta[row];
  if (L == INFINITY) return;
  const MaskRow mrow(p, bh / p.H);
  const float* qr = p.q + row * D;
  const float* dor = p.dout + row * D;
  const int jend = p.causal ? min(p.Tk, max(0, i + p.off + 1)) : p.Tk;
  for (int j = 0; j < jend; ++j) {
    const float ma = mrow.log2_term(j);
    if (ma == neg_inf()) continue;
    const float* kr = p.k + (bh * p.Tk + j) * D;
    const float s = warp_dot(qr, kr, D, lane), dp = warp_dot(dor, p.v + (bh * p.Tk + j) * D, D, lane);
    const float ds = exp2f(fmaf(s, p.scale_log2, ma) - L) * (dp - delta);
    for (int d = lane; d < D; d += 32) dq[d] = fmaf(ds, kr[d], dq[d]);
  }
  for (int d = lane; d < D; d += 32) dq[d] *= p.scale;
}

unsigned general_blocks(int64_t rows) { return static_cast<unsigned>((rows + kWarps - 1) / kWarps); }

// The current device (set by dispatch): compute capability and opt-in shared memory, cached.
Device current_device() {
  static std::mutex mu;
  static Device cache[64];
  static bool have[64] = {};
  int dev = 0;
  CG_CUDA_CHECK(cudaGetDevice(&dev), "cudagrad.attention");
  if (dev < 0 || dev >= 64) return Device{dev, 0, 48 * 1024};
  std::lock_guard<std::mutex> lock(mu);
  if (!have[dev]) {
    cudaDeviceProp prop;
    CG_CUDA_CHECK(cudaGetDeviceProperties(&prop, dev), "cudagrad.attention");
    cache[dev] = Device{dev, prop.major, prop.sharedMemPerBlockOptin};
    have[dev] = true;
  }
  return cache[dev];
}

bool aligned16(const void* ptr) { return (reinterpret_cast<uintptr_t>(ptr) & 15) == 0; }

Params make_params(const float* q, const float* k, const float* v, const float* mask, const int32_t* mask_bool,
                   int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t D, bool causal) {
  if (Tq > INT32_MAX / 2 || Tk > INT32_MAX / 2 || D > INT32_MAX / 2)
    throw_error("cudagrad.attention: sequence lengths and head size must be below 2^30 on CUDA");
  Params p{};
  p.q = q, p.k = k, p.v = v, p.mask = mask, p.mask_bool = mask_bool;
  p.BH = B * H;
  p.H = static_cast<int>(H), p.Tq = static_cast<int>(Tq), p.Tk = static_cast<int>(Tk), p.D = static_cast<int>(D);
  p.off = p.Tk - p.Tq;
  p.causal = causal;
  p.vec = D % 4 == 0 && aligned16(q) && aligned16(k) && aligned16(v);
  p.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
  p.scale_log2 = static_cast<float>(1.4426950408889634 / std::sqrt(static_cast<double>(D)));
  return p;
}

// Tensor cores when the matmul precision allows them and the device has them.
int tensor_core_mode(const Device& dev) {  // 0 none, 1 TF32, 2 bf16
  const MatmulPrecision prec = matmul_precision();
  if (prec == MatmulPrecision::Highest || dev.major < 8) return 0;
  return prec == MatmulPrecision::Medium ? 2 : 1;
}

// A device buffer from the caching allocator for the duration of one call
// (stream-ordered: later work on the stream may reuse it without a sync).
struct Scratch {
  int device;
  size_t bytes;
  void* ptr;
  Scratch(int dev, size_t n) : device(dev), bytes(n), ptr(n ? gpu::alloc(dev, n) : nullptr) {}
  ~Scratch() {
    if (ptr) gpu::free(device, ptr, bytes);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

// A float32 copy of n bf16 elements (stream-ordered cast into scratch).
struct Widened : Scratch {
  Widened(int dev, const uint16_t* x, int64_t n) : Scratch(dev, sizeof(float) * static_cast<size_t>(n)) {
    cast(ptr, DType::Float32, x, DType::BFloat16, n);
  }
  float* f() const { return static_cast<float*>(ptr); }
};

// Params for bf16 tensors (the tensor-core kernels): the float pointers stay null.
Params make_params_bf16(const uint16_t* q, const uint16_t* k, const uint16_t* v, const float* mask,
                        const int32_t* mask_bool, int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t D,
                        bool causal) {
  Params p = make_params(nullptr, nullptr, nullptr, mask, mask_bool, B, H, Tq, Tk, D, causal);
  p.bf16_io = true;
  p.h.q = q, p.h.k = k, p.h.v = v;
  p.vec = D % 8 == 0 && aligned16(q) && aligned16(k) && aligned16(v);
  return p;
}

}  // namespace

}  // namespace attn

// --- launchers

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, const float* mask,
                       const int32_t* mask_bool, int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t D, bool causal) {
  if (B * H == 0 || Tq == 0) return;
  attn::Params p = attn::make_params(q, k, v, mask, mask_bool, B, H, Tq, Tk, D, causal);
  p.out = out, p.lse = lse;
  const attn::Device dev = attn::current_device();
  const int tc = attn::tensor_core_mode(dev);
  if (tc && attn::tc_forward(p, dev, tc == 2)) return void(attn::n_mma++);
  if (attn::simt_forward(p, dev)) return void(attn::n_simt++);
  attn::n_general++;
  LAUNCH(attn::fwd_any, attn::general_blocks(p.BH * Tq), 32 * attn::kWarps, 0, stream())(p);
  gpu::check_last_launch("attention forward");
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* out, const float* lse, const float* mask,
                        const int32_t* mask_bool, int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t D,
                        bool causal) {
  if (B * H == 0 || (Tq == 0 && Tk == 0)) return;
  attn::Params p = attn::make_params(q, k, v, mask, mask_bool, B, H, Tq, Tk, D, causal);
  p.dq = dq, p.dk = dk, p.dv = dv, p.dout = dout, p.lse_in = lse;
  p.vec = p.vec && attn::aligned16(dout);
  const attn::Device dev = attn::current_device();
  attn::Scratch delta(dev.index, sizeof(float) * static_cast<size_t>(p.BH * Tq));
  p.delta = static_cast<const float*>(delta.ptr);
  if (Tq > 0) {
    LAUNCH(attn::delta_kernel<float>, attn::general_blocks(p.BH * Tq), 32 * attn::kWarps, 0, stream())(
        static_cast<float*>(delta.ptr), dout, out, p.BH * Tq, p.D);
    gpu::check_last_launch("attention backward (delta)");
  }
  const int tc = attn::tensor_core_mode(dev);
  if (tc && attn::tc_backward(p, dev, tc == 2)) return void(attn::n_mma++);
  if (attn::simt_backward(p, dev)) return void(attn::n_simt++);
  attn::n_general++;
  if (Tk > 0) {
    LAUNCH(attn::dkdv_any, attn::general_blocks(p.BH * Tk), 32 * attn::kWarps, 0, stream())(p);
    gpu::check_last_launch("attention backward (dk, dv)");
  }
  if (Tq > 0) {
    LAUNCH(attn::dq_any, attn::general_blocks(p.BH * Tq), 32 * attn::kWarps, 0, stream())(p);
    gpu::check_last_launch("attention backward (dq)");
  }
}

void attention_forward_bf16(uint16_t* out, float* lse, const uint16_t* q, const uint16_t* k, const uint16_t* v,
                            const float* mask, const int32_t* mask_bool, int64_t B, int64_t H, int64_t Tq, int64_t Tk,
                            int64_t D, bool causal) {
  if (B * H == 0 || Tq == 0) return;
  attn::Params p = attn::make_params_bf16(q, k, v, mask, mask_bool, B, H, Tq, Tk, D, causal);
  p.h.out = out, p.lse = lse;
  const attn::Device dev = attn::current_device();
  if (dev.major >= 8 && attn::tc_forward(p, dev, true)) return void(attn::n_mma_bf16++);
  const int64_t nq = B * H * Tq * D, nk = B * H * Tk * D;
  const attn::Widened qf(dev.index, q, nq), kf(dev.index, k, nk), vf(dev.index, v, nk);
  attn::Scratch of(dev.index, sizeof(float) * static_cast<size_t>(nq));
  attention_forward(static_cast<float*>(of.ptr), lse, qf.f(), kf.f(), vf.f(), mask, mask_bool, B, H, Tq, Tk, D,
                    causal);
  cast(out, DType::BFloat16, of.ptr, DType::Float32, nq);
}

void attention_backward_bf16(uint16_t* dq, uint16_t* dk, uint16_t* dv, const uint16_t* dout, const uint16_t* q,
                             const uint16_t* k, const uint16_t* v, const uint16_t* out, const float* lse,
                             const float* mask, const int32_t* mask_bool, int64_t B, int64_t H, int64_t Tq,
                             int64_t Tk, int64_t D, bool causal) {
  if (B * H == 0 || (Tq == 0 && Tk == 0)) return;
  attn::Params p = attn::make_params_bf16(q, k, v, mask, mask_bool, B, H, Tq, Tk, D, causal);
  p.h.dq = dq, p.h.dk = dk, p.h.dv = dv, p.h.dout = dout, p.lse_in = lse;
  p.vec = p.vec && attn::aligned16(dout);
  const attn::Device dev = attn::current_device();
  if (dev.major >= 8 && attn::head_tile(p.D) != 0) {  // the tensor-core kernels (<= 74 KiB of shared memory)
    attn::Scratch delta(dev.index, sizeof(float) * static_cast<size_t>(p.BH * Tq));
    p.delta = static_cast<const float*>(delta.ptr);
    if (Tq > 0) {
      LAUNCH(attn::delta_kernel<uint16_t>, attn::general_blocks(p.BH * Tq), 32 * attn::kWarps, 0, stream())(
          static_cast<float*>(delta.ptr), dout, out, p.BH * Tq, p.D);
      gpu::check_last_launch("attention backward (delta)");
    }
    if (attn::tc_backward(p, dev, true)) return void(attn::n_mma_bf16++);
  }
  const int64_t nq = B * H * Tq * D, nk = B * H * Tk * D;
  const attn::Widened qf(dev.index, q, nq), kf(dev.index, k, nk), vf(dev.index, v, nk), dof(dev.index, dout, nq),
      of(dev.index, out, nq);
  const size_t bq = sizeof(float) * static_cast<size_t>(nq), bk = sizeof(float) * static_cast<size_t>(nk);
  attn::Scratch dqf(dev.index, bq), dkf(dev.index, bk), dvf(dev.index, bk);
  attention_backward(static_cast<float*>(dqf.ptr), static_cast<float*>(dkf.ptr), static_cast<float*>(dvf.ptr),
                     dof.f(), qf.f(), kf.f(), vf.f(), of.f(), lse, mask, mask_bool, B, H, Tq, Tk, D, causal);
  cast(dq, DType::BFloat16, dqf.ptr, DType::Float32, nq);
  cast(dk, DType::BFloat16, dkf.ptr, DType::Float32, nk);
  cast(dv, DType::BFloat16, dvf.ptr, DType::Float32, nk);
}

}  // namespace cg::cuda

namespace cg::gpu {
AttentionLaunches attention_launches() {
  using namespace cuda::attn;
  return AttentionLaunches{n_general.load(), n_simt.load(), n_mma.load(), n_mma_bf16.load()};
}
}  // namespace cg::gpu
