// SIMT emulation of the CUDA device language for the portable kernels in
// native/cuda/*.cu, compiled as plain C++ when CUDAGRAD_EMULATE_CUDA is on.
//
// Each block runs on one OS thread, its threads as fibers (emu/fiber.h) that
// switch only at barriers and warp collectives; blocks run in parallel on the
// thread pool. So `__shared__` is a `static thread_local`, plain memory ops in
// a block need no locks, and atomics across blocks use the __atomic builtins.
// Warp collectives wait for every lane named in the mask and check the mask;
// a barrier or collective that can never complete is reported as a launch
// error (deadlock), not a hang. The run order of blocks and of the threads in
// a block can be forward, reverse or shuffled (emu_set_schedule) to expose
// missing barriers and inter-block assumptions.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

// --- qualifiers
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __shared__ static thread_local
#define __constant__ static
#define __align__(n) __attribute__((aligned(n)))
#define CG_EMULATE_CUDA_ACTIVE 1

// --- vector and index types
struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};

#define CG_EMU_VEC2(T, N, A) \
  struct alignas(A) N { T x, y; }; \
  inline N make_##N(T x, T y) { return N{x, y}; }
#define CG_EMU_VEC4(T, N, A) \
  struct alignas(A) N { T x, y, z, w; }; \
  inline N make_##N(T x, T y, T z, T w) { return N{x, y, z, w}; }
CG_EMU_VEC2(float, float2, 8)
CG_EMU_VEC4(float, float4, 16)
CG_EMU_VEC2(int, int2, 8)
CG_EMU_VEC4(int, int4, 16)
CG_EMU_VEC2(unsigned, uint2, 8)
CG_EMU_VEC4(unsigned, uint4, 16)
CG_EMU_VEC2(double, double2, 16)
#undef CG_EMU_VEC2
#undef CG_EMU_VEC4

namespace cg::emu {

constexpr int kWarpSize = 32;

// --- the emulated machine, as the kernels see it (emu/simt.cpp)
struct BlockState;
struct ThreadState;
extern thread_local BlockState* cur_block;
extern thread_local ThreadState* cur_thread;
const uint3& thread_idx();
const uint3& block_idx();
const dim3& block_dim();
const dim3& grid_dim();
void* dynamic_smem();

void syncthreads(const char* file, int line);
// A warp collective: the calling lane deposits `in` (size <= 64 bytes), waits
// until every lane of `mask` arrived at the same call, then `resolve` computes
// every lane's `out` from all inputs. `kind` names the collective in errors.
using Resolve = void (*)(const void* const* in, void* const* out, unsigned mask, int width);
void warp_collective(const char* kind, unsigned mask, int width, const char* file, int line, const void* in,
                     size_t in_size, void* out, Resolve resolve);
unsigned active_mask();
int lane_id();
// A warpgroup collective (wgmma): as warp_collective, over the 128 threads of
// the caller's warpgroup (4 consecutive warps, the first one's index a
// multiple of 4); every one of them must arrive at the same call. `in` and
// `out` of resolve have 128 entries (warpgroup thread order); mask is all ones.
void warpgroup_collective(const char* kind, const char* file, int line, const void* in, size_t in_size, void* out,
                          Resolve resolve);
int thread_linear();  // the calling thread's linear index in its block
size_t dynamic_smem_size();

// Asynchronous warpgroup MMAs this thread took part in (emu/ptx_emu.cpp): issued
// ops, where each committed group ends, and whether a wgmma.fence came since
// the last wait. Fresh for every block; a thread that exits with ops not
// retired by a wgmma.wait_group fails the launch.
struct WgmmaOp {
  uint64_t desc_a, desc_b;
  float* d;
  int accumulate;
  const char* file;  // the issuing call, for errors
  int line;
};
struct WgmmaState {
  bool fenced = false;
  std::vector<WgmmaOp> ops;
  std::vector<size_t> group_ends;
};
WgmmaState& wgmma_state();

// Runs body() as every thread of every block of the grid; returns an error
// message ("" on success).
std::string run_grid(const char* kernel, dim3 grid, dim3 block, size_t smem, const std::function<void()>& body);
// Launch bookkeeping for the emulated runtime (emu/runtime.cpp).
void record_launch_error(int code, const std::string& msg);
// The dynamic shared memory a launch of `fn` may ask for: 48 KiB unless
// cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, n)
// raised it, as on a GPU, where a launch above it fails with
// cudaErrorInvalidValue.
size_t max_dynamic_smem(const void* fn);

// Schedules: 0 forward, 1 reverse, 2 shuffled with `seed` (blocks and the threads in each block).
void set_schedule(int order, uint64_t seed);

template <typename... P>
struct Launcher {
  const char* name;
  void (*fn)(P...);
  dim3 grid, block;
  size_t smem;
  template <typename... A>
  void operator()(A&&... args) const {
    std::tuple<std::decay_t<P>...> params(std::forward<A>(args)...);
    const size_t limit = max_dynamic_smem(reinterpret_cast<const void*>(fn));
    if (smem > limit) {
      record_launch_error(1, "invalid argument: kernel " + std::string(name) + " asks for " + std::to_string(smem) +
                                 " bytes of dynamic shared memory, above its limit of " + std::to_string(limit) +
                                 " (raise it with cudaFuncSetAttribute(MaxDynamicSharedMemorySize))");
      return;
    }
    std::string err = run_grid(name, grid, block, smem, [&]() { std::apply(fn, params); });
    if (!err.empty()) record_launch_error(719, err);
  }
};

template <typename... P>
Launcher<P...> launcher(const char* name, void (*fn)(P...), dim3 grid, dim3 block, size_t smem) {
  return Launcher<P...>{name, fn, grid, block, smem};
}

template <typename T>
inline uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "warp shuffles move at most 8 bytes");
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof(T));
  return b;
}

template <typename T>
inline T from_bits(uint64_t b) {
  T v;
  std::memcpy(&v, &b, sizeof(T));
  return v;
}

struct ShflIn {
  uint64_t bits;
  int mode;  // 0 idx, 1 up, 2 down, 3 xor
  int arg;
};
void resolve_shfl(const void* const* in, void* const* out, unsigned mask, int width);
void resolve_vote(const void* const* in, void* const* out, unsigned mask, int width);
void resolve_none(const void* const* in, void* const* out, unsigned mask, int width);

template <typename T>
inline T shfl(unsigned mask, T v, int mode, int arg, int width, const char* kind, const char* file, int line) {
  ShflIn in{to_bits(v), mode, arg};
  uint64_t out = 0;
  warp_collective(kind, mask, width, file, line, &in, sizeof in, &out, resolve_shfl);
  return from_bits<T>(out);
}

// vote: out = ballot of `pred` over the mask
inline unsigned vote(unsigned mask, int pred, const char* kind, const char* file, int line) {
  int in = pred != 0;
  unsigned out = 0;
  warp_collective(kind, mask, kWarpSize, file, line, &in, sizeof in, &out, resolve_vote);
  return out;
}

}  // namespace cg::emu

// --- built-in variables
#define threadIdx (::cg::emu::thread_idx())
#define blockIdx (::cg::emu::block_idx())
#define blockDim (::cg::emu::block_dim())
#define gridDim (::cg::emu::grid_dim())
constexpr int warpSize = 32;

// --- barriers and warp collectives
#define __syncthreads() ::cg::emu::syncthreads(__FILE__, __LINE__)
#define __syncwarp(...) ::cg::emu::syncwarp_at(__FILE__, __LINE__, ##__VA_ARGS__)
#define __shfl_sync(m, v, src, ...) ::cg::emu::shfl_at(__FILE__, __LINE__, "__shfl_sync", 0, m, v, src, ##__VA_ARGS__)
#define __shfl_up_sync(m, v, d, ...) ::cg::emu::shfl_at(__FILE__, __LINE__, "__shfl_up_sync", 1, m, v, d, ##__VA_ARGS__)
#define __shfl_down_sync(m, v, d, ...) ::cg::emu::shfl_at(__FILE__, __LINE__, "__shfl_down_sync", 2, m, v, d, ##__VA_ARGS__)
#define __shfl_xor_sync(m, v, d, ...) ::cg::emu::shfl_at(__FILE__, __LINE__, "__shfl_xor_sync", 3, m, v, d, ##__VA_ARGS__)
#define __ballot_sync(m, p) ::cg::emu::vote(m, p, "__ballot_sync", __FILE__, __LINE__)
#define __any_sync(m, p) (::cg::emu::vote(m, p, "__any_sync", __FILE__, __LINE__) != 0u)
#define __all_sync(m, p) (::cg::emu::vote(m, p, "__all_sync", __FILE__, __LINE__) == (m))
#define __activemask() ::cg::emu::active_mask()

namespace cg::emu {
inline void syncwarp_at(const char* file, int line, unsigned mask = 0xffffffffu) {
  warp_collective("__syncwarp", mask, kWarpSize, file, line, nullptr, 0, nullptr, resolve_none);
}
template <typename T>
inline T shfl_at(const char* file, int line, const char* kind, int mode, unsigned mask, T v, int arg, int width = kWarpSize) {
  return shfl(mask, v, mode, arg, width, kind, file, line);
}
}  // namespace cg::emu

// --- atomics (device-wide: blocks run concurrently on several OS threads)
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
  return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
template <typename F, typename U>
inline F cg_emu_atomic_float(F* p, F v, F (*op)(F, F)) {
  U* u = reinterpret_cast<U*>(p);
  U old = __atomic_load_n(u, __ATOMIC_RELAXED);
  for (;;) {
    F f;
    std::memcpy(&f, &old, sizeof f);
    F n = op(f, v);
    U nu;
    std::memcpy(&nu, &n, sizeof nu);
    if (__atomic_compare_exchange_n(u, &old, nu, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return f;
  }
}
inline float atomicAdd(float* p, float v) {
  return cg_emu_atomic_float<float, uint32_t>(p, v, [](float a, float b) { return a + b; });
}
inline double atomicAdd(double* p, double v) {
  return cg_emu_atomic_float<double, uint64_t>(p, v, [](double a, double b) { return a + b; });
}
template <typename T, typename Op>
inline T cg_emu_atomic_rmw(T* p, T v, Op op) {
  T old = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (!__atomic_compare_exchange_n(p, &old, op(old, v), true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
inline int atomicMax(int* p, int v) { return cg_emu_atomic_rmw(p, v, [](int a, int b) { return a > b ? a : b; }); }
inline int atomicMin(int* p, int v) { return cg_emu_atomic_rmw(p, v, [](int a, int b) { return a < b ? a : b; }); }
inline unsigned atomicMax(unsigned* p, unsigned v) {
  return cg_emu_atomic_rmw(p, v, [](unsigned a, unsigned b) { return a > b ? a : b; });
}
inline int atomicExch(int* p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }
inline unsigned atomicExch(unsigned* p, unsigned v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }
inline float atomicExch(float* p, float v) {
  return cg_emu_atomic_float<float, uint32_t>(p, v, [](float, float b) { return b; });
}
inline int atomicCAS(int* p, int cmp, int v) {
  __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return cmp;
}
inline unsigned atomicCAS(unsigned* p, unsigned cmp, unsigned v) {
  __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return cmp;
}
inline size_t __cvta_generic_to_shared(const void* p) { return reinterpret_cast<size_t>(p); }
inline void __trap() { throw std::runtime_error("__trap() called"); }
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() {}

// --- math: device functions and intrinsics (exact versions of the fast ones)
template <typename T>
inline T __ldg(const T* p) { return *p; }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __frcp_rn(float a) { return 1.f / a; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float rsqrtf(float a) { return 1.f / std::sqrt(a); }
inline float __saturatef(float a) { return a < 0.f ? 0.f : (a > 1.f ? 1.f : a); }
inline int __float2int_rn(float a) { return static_cast<int>(std::nearbyint(a)); }
inline unsigned __float_as_uint(float a) { return cg::emu::from_bits<unsigned>(cg::emu::to_bits(a)); }
inline float __uint_as_float(unsigned a) { return cg::emu::from_bits<float>(cg::emu::to_bits(a)); }
inline int __float_as_int(float a) { return cg::emu::from_bits<int>(cg::emu::to_bits(a)); }
inline float __int_as_float(int a) { return cg::emu::from_bits<float>(cg::emu::to_bits(a)); }
inline int __popc(unsigned a) { return __builtin_popcount(a); }
inline int __ffs(int a) { return __builtin_ffs(a); }
inline int __clz(int a) { return a == 0 ? 32 : __builtin_clz(static_cast<unsigned>(a)); }
using std::fmaxf;
using std::fminf;
inline int max(int a, int b) { return a > b ? a : b; }
inline int min(int a, int b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline float max(float a, float b) { return std::fmax(a, b); }
inline float min(float a, float b) { return std::fmin(a, b); }
