// CPU creation kernels (ops/fill.h).
#include "../ops/fill.h"

#include <cstdint>

#include "../runtime/bf16.h"
#include "../runtime/thread_pool.h"

namespace cg::cpu {

namespace {
constexpr int64_t kGrain = 1 << 16;

template <typename T>
void fill_typed(T* out, int64_t n, T v) {
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = v;
  });
}

template <typename T>
void arange_typed(T* out, int64_t n, double start, double step) {
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
}

// bfloat16: the float32 value, rounded to bf16 bits.
void arange_bf16(uint16_t* out, int64_t n, double start, double step) {
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = bf16_from_float(static_cast<float>(start + static_cast<double>(i) * step));
  });
}
}  // namespace

void fill(void* out, int64_t n, DType dtype, double value) {
  if (dtype == DType::Float32) fill_typed(static_cast<float*>(out), n, static_cast<float>(value));
  else if (dtype == DType::BFloat16) fill_typed(static_cast<uint16_t*>(out), n, bf16_from_float(static_cast<float>(value)));
  else fill_typed(static_cast<int32_t*>(out), n, static_cast<int32_t>(value));
}

void arange(void* out, int64_t n, DType dtype, double start, double step) {
  if (dtype == DType::Float32) arange_typed(static_cast<float*>(out), n, start, step);
  else if (dtype == DType::BFloat16) arange_bf16(static_cast<uint16_t*>(out), n, start, step);
  else arange_typed(static_cast<int32_t*>(out), n, start, step);
}

}  // namespace cg::cpu
