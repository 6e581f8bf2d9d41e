// The SIMT emulator itself (CUDAGRAD_EMULATE_CUDA builds only): barriers,
// shuffles, votes, atomics, shared memory, deadlock reports, and planted bugs
// (a missing __syncthreads, an off-by-one tile bound) that it must expose as
// wrong results in at least one schedule while the correct kernels pass in all.
#if defined(CG_EMULATE_CUDA)

#include <cuda_runtime.h>

#include <numeric>
#include <string>
#include <vector>

#include "../../native/cuda/launch.h"
#include "harness.h"

namespace {

// --- kernels

// Block sum through shared memory (tree reduction); with_sync=false plants the bug.
__global__ void block_sum(const float* x, float* out, int n, bool with_sync) {
  __shared__ float buf[256];
  int t = threadIdx.x;
  int i = blockIdx.x * blockDim.x + t;
  buf[t] = i < n ? x[i] : 0.f;
  if (with_sync) __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (t < s) buf[t] += buf[t + s];
    if (with_sync) __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = buf[0];
}

// Warp sum by __shfl_down_sync, then one atomicAdd per warp.
__global__ void warp_sum_atomic(const float* x, float* total, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  float v = i < n ? x[i] : 0.f;
  for (int d = 16; d > 0; d >>= 1) v += __shfl_down_sync(0xffffffffu, v, d);
  if ((threadIdx.x & 31) == 0) atomicAdd(total, v);
}

// Ballot / any / all / xor-shuffle / idx-shuffle with width 8, one warp.
__global__ void votes(const int* pred, unsigned* ballot, int* any, int* all, int* xor1, int* bcast) {
  int l = threadIdx.x;
  unsigned b = __ballot_sync(0xffffffffu, pred[l]);
  if (l == 0) *ballot = b;
  int a = __any_sync(0xffffffffu, pred[l]);
  int al = __all_sync(0xffffffffu, pred[l]);
  if (l == 0) {
    *any = a;
    *all = al;
  }
  xor1[l] = __shfl_xor_sync(0xffffffffu, l, 1);
  bcast[l] = __shfl_sync(0xffffffffu, l * 10, 3, 8);  // lane 3 of each group of 8
}

// Tiled copy-transpose through a 16x16 shared tile; `bound` is the planted off-by-one knob.
__global__ void tile_transpose(const float* in, float* out, int rows, int cols, int bound) {
  __shared__ float tile[16][17];
  int x = blockIdx.x * 16 + threadIdx.x, y = blockIdx.y * 16 + threadIdx.y;
  if (x < cols && y < rows) tile[threadIdx.y][threadIdx.x] = in[y * cols + x];
  __syncthreads();
  int tx = blockIdx.y * 16 + threadIdx.x, ty = blockIdx.x * 16 + threadIdx.y;
  if (tx < rows + bound && ty < cols) out[ty * rows + tx] = tile[threadIdx.x][threadIdx.y];
}

// A barrier only half the block reaches, while the other half waits at another one.
__global__ void divergent_barrier(int* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1;
}

// A shuffle whose mask names lanes that never get there.
__global__ void half_warp_shuffle(int* out) {
  if (threadIdx.x < 16) out[threadIdx.x] = __shfl_sync(0xffffffffu, 1, 0);
}

__global__ void dynamic_smem_reverse(const int* in, int* out) {
  CG_DYNAMIC_SMEM(int, s);
  s[threadIdx.x] = in[threadIdx.x];
  __syncthreads();
  out[threadIdx.x] = s[blockDim.x - 1 - threadIdx.x];
}

// A float4 load from an address that is not 16-byte aligned: a GPU stops the
// kernel with "misaligned address"; the emulator build's alignment sanitizer
// stops the process (planted_misaligned_float4_load, run by test/native.test.ts).
__global__ void misaligned_float4_copy(const float* in, float* out) {
  const float4 v = *reinterpret_cast<const float4*>(in + 1 + 4 * threadIdx.x);
  out[threadIdx.x] = v.x + v.y + v.z + v.w;
}

// The same through the last 64 ints of 64 KiB of dynamic shared memory.
__global__ void dynamic_smem_reverse_big(const int* in, int* out) {
  CG_DYNAMIC_SMEM(int, s);
  int* tail = s + (64 << 10) / sizeof(int) - blockDim.x;
  tail[threadIdx.x] = in[threadIdx.x];
  __syncthreads();
  out[threadIdx.x] = tail[blockDim.x - 1 - threadIdx.x];
}

// --- helpers

struct DevBuf {
  void* p = nullptr;
  explicit DevBuf(size_t bytes) { cudaMalloc(&p, bytes); }
  ~DevBuf() { cudaFree(p); }
  template <typename T>
  T* as() const { return static_cast<T*>(p); }
};

std::string last_error() {
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? "" : cudaGetErrorString(e);
}

const int kOrders[3] = {0, 1, 2};  // forward, reverse, shuffled

float run_block_sum(bool with_sync, int order) {
  cg::emu::set_schedule(order, 7);
  const int n = 1000;
  std::vector<float> x(n);
  std::iota(x.begin(), x.end(), 1.f);
  DevBuf dx(n * 4), dout(4 * 4);
  cudaMemcpy(dx.p, x.data(), n * 4, cudaMemcpyHostToDevice);
  LAUNCH(block_sum, 4, 256, 0, nullptr)(dx.as<float>(), dout.as<float>(), n, with_sync);
  float parts[4];
  cudaMemcpy(parts, dout.p, 16, cudaMemcpyDeviceToHost);
  cg::emu::set_schedule(0, 0);
  return parts[0] + parts[1] + parts[2] + parts[3];
}

bool run_transpose(int rows, int cols, int bound, int order) {
  cg::emu::set_schedule(order, 3);
  std::vector<float> in(rows * cols), out(rows * cols + 64, -1.f);
  std::iota(in.begin(), in.end(), 0.f);
  DevBuf din(in.size() * 4), dout(out.size() * 4);
  cudaMemcpy(din.p, in.data(), in.size() * 4, cudaMemcpyHostToDevice);
  cudaMemcpy(dout.p, out.data(), out.size() * 4, cudaMemcpyHostToDevice);
  LAUNCH(tile_transpose, dim3((cols + 15) / 16, (rows + 15) / 16), dim3(16, 16), 0, nullptr)(din.as<float>(), dout.as<float>(), rows, cols, bound);
  cudaMemcpy(out.data(), dout.p, out.size() * 4, cudaMemcpyDeviceToHost);
  cg::emu::set_schedule(0, 0);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      if (out[c * rows + r] != in[r * cols + c]) return false;
  for (size_t i = rows * cols; i < out.size(); ++i)
    if (out[i] != -1.f) return false;  // nothing written past the end
  return true;
}

}  // namespace

TEST(emu_block_reduction_with_barriers_is_right_in_every_order) {
  for (int order : kOrders) CHECK_EQ(run_block_sum(true, order), 500500.f);
  CHECK_EQ(last_error(), std::string());
}

TEST(emu_catches_missing_syncthreads) {
  int wrong = 0;
  for (int order : kOrders) wrong += run_block_sum(false, order) != 500500.f;
  CHECK(wrong > 0);
}

TEST(emu_shuffle_reduction_and_atomics) {
  const int n = 4099;
  std::vector<float> x(n, 1.f);
  DevBuf dx(n * 4), dt(4);
  cudaMemcpy(dx.p, x.data(), n * 4, cudaMemcpyHostToDevice);
  cudaMemset(dt.p, 0, 4);
  LAUNCH(warp_sum_atomic, (n + 127) / 128, 128, 0, nullptr)(dx.as<float>(), dt.as<float>(), n);
  float total = 0;
  cudaMemcpy(&total, dt.p, 4, cudaMemcpyDeviceToHost);
  CHECK_EQ(total, static_cast<float>(n));
  CHECK_EQ(last_error(), std::string());
}

TEST(emu_votes_and_shuffle_variants) {
  std::vector<int> pred(32);
  for (int i = 0; i < 32; ++i) pred[i] = i % 3 == 0;
  DevBuf dp(128), db(4), dany(4), dall(4), dx(128), dbc(128);
  cudaMemcpy(dp.p, pred.data(), 128, cudaMemcpyHostToDevice);
  LAUNCH(votes, 1, 32, 0, nullptr)(dp.as<int>(), db.as<unsigned>(), dany.as<int>(), dall.as<int>(), dx.as<int>(), dbc.as<int>());
  unsigned ballot;
  int any, all, x[32], bc[32];
  cudaMemcpy(&ballot, db.p, 4, cudaMemcpyDeviceToHost);
  cudaMemcpy(&any, dany.p, 4, cudaMemcpyDeviceToHost);
  cudaMemcpy(&all, dall.p, 4, cudaMemcpyDeviceToHost);
  cudaMemcpy(x, dx.p, 128, cudaMemcpyDeviceToHost);
  cudaMemcpy(bc, dbc.p, 128, cudaMemcpyDeviceToHost);
  unsigned want = 0;
  for (int i = 0; i < 32; ++i) want |= (i % 3 == 0 ? 1u : 0u) << i;
  CHECK_EQ(ballot, want);
  CHECK_EQ(any, 1);
  CHECK_EQ(all, 0);
  for (int i = 0; i < 32; ++i) {
    CHECK_EQ(x[i], i ^ 1);
    CHECK_EQ(bc[i], (i / 8 * 8 + 3) * 10);
  }
}

TEST(emu_tiled_kernel_right_and_catches_off_by_one_bound) {
  for (int order : kOrders) {
    CHECK(run_transpose(33, 47, 0, order));
    CHECK(run_transpose(1, 7, 0, order));
  }
  bool caught = false;
  for (int order : kOrders) caught = caught || !run_transpose(33, 47, 1, order);
  CHECK(caught);
}

TEST(emu_reports_divergent_barrier_instead_of_hanging) {
  DevBuf d(256);
  LAUNCH(divergent_barrier, 1, 32, 0, nullptr)(d.as<int>());
  std::string e = last_error();
  CHECK(e.find("different __syncthreads") != std::string::npos);
  CHECK(e.find("divergent_barrier") != std::string::npos);
}

TEST(emu_reports_shuffle_with_missing_lanes) {
  DevBuf d(256);
  LAUNCH(half_warp_shuffle, 1, 32, 0, nullptr)(d.as<int>());
  std::string e = last_error();
  CHECK(e.find("__shfl_sync") != std::string::npos);
  CHECK(e.find("has exited") != std::string::npos);
}

TEST(emu_dynamic_shared_memory_and_bad_configs) {
  int in[64], out[64];
  for (int i = 0; i < 64; ++i) in[i] = i * 2;
  DevBuf di(256), dout(256);
  cudaMemcpy(di.p, in, 256, cudaMemcpyHostToDevice);
  LAUNCH(dynamic_smem_reverse, 1, 64, 64 * sizeof(int), nullptr)(di.as<int>(), dout.as<int>());
  cudaMemcpy(out, dout.p, 256, cudaMemcpyDeviceToHost);
  for (int i = 0; i < 64; ++i) CHECK_EQ(out[i], in[63 - i]);
  CHECK_EQ(last_error(), std::string());
  LAUNCH(dynamic_smem_reverse, 1, 2048, 0, nullptr)(di.as<int>(), dout.as<int>());
  CHECK(last_error().find("invalid configuration") != std::string::npos);
}

// As on a GPU: more than 48 KiB of dynamic shared memory needs the kernel's
// opt-in (cudaFuncSetAttribute), and the opt-in stops at 227 KiB on sm_90.
TEST(emu_dynamic_shared_memory_above_48k_needs_the_opt_in) {
  DevBuf di(256), dout(256);
  const size_t big = 64 << 10;
  LAUNCH(dynamic_smem_reverse_big, 1, 64, big, nullptr)(di.as<int>(), dout.as<int>());
  CHECK(last_error().find("above its limit of 49152") != std::string::npos);
  CHECK_EQ(cudaFuncSetAttribute(dynamic_smem_reverse_big, cudaFuncAttributeMaxDynamicSharedMemorySize, 228 << 10),
           cudaErrorInvalidValue);
  cudaGetLastError();
  CHECK_EQ(cudaFuncSetAttribute(dynamic_smem_reverse_big, cudaFuncAttributeMaxDynamicSharedMemorySize, int(big)),
           cudaSuccess);
  int in[64], out[64];
  for (int i = 0; i < 64; ++i) in[i] = 3 * i;
  cudaMemcpy(di.p, in, 256, cudaMemcpyHostToDevice);
  LAUNCH(dynamic_smem_reverse_big, 1, 64, big, nullptr)(di.as<int>(), dout.as<int>());
  CHECK_EQ(last_error(), std::string());
  cudaMemcpy(out, dout.p, 256, cudaMemcpyDeviceToHost);
  for (int i = 0; i < 64; ++i) CHECK_EQ(out[i], in[63 - i]);
}

TEST(planted_misaligned_float4_load) {
  DevBuf din(4 * 64), dout(4 * 8);
  LAUNCH(misaligned_float4_copy, 1, 8, 0, nullptr)(din.as<float>(), dout.as<float>());
  cudaDeviceSynchronize();
  CHECK_EQ(last_error(), std::string("(the sanitizer should have stopped the process)"));
}

#endif  // CG_EMULATE_CUDA
