// CPU comparison ops (ops/compare.h): a loop per (dtype, op) over the rows of
// the broadcast output, split over the pool. The contiguous and one-operand-
// fixed rows are plain loops the compiler vectorises; NaN compares as IEEE
// (the C++ operators already do).
#include "../ops/compare.h"

#include "../runtime/thread_pool.h"
#include "bcast_walk.h"

namespace cg::cpu {

namespace {

constexpr int64_t kGrain = 1 << 14;

// out[i] = a[i * sa] op b[i * sb], sa, sb in {0, 1}.
template <Cmp OP, class T>
inline void row(float* out, const T* a, int64_t sa, const T* b, int64_t sb, int64_t n) {
  if (sa && sb) {
    for (int64_t i = 0; i < n; ++i) out[i] = compare_values<OP>(a[i], b[i]) ? 1.f : 0.f;
  } else if (sa) {
    const T y = *b;
    for (int64_t i = 0; i < n; ++i) out[i] = compare_values<OP>(a[i], y) ? 1.f : 0.f;
  } else if (sb) {
    const T x = *a;
    for (int64_t i = 0; i < n; ++i) out[i] = compare_values<OP>(x, b[i]) ? 1.f : 0.f;
  } else {
    const float v = compare_values<OP>(*a, *b) ? 1.f : 0.f;
    for (int64_t i = 0; i < n; ++i) out[i] = v;
  }
}

template <Cmp OP, class T>
void tensors(float* out, const T* a, const T* b, const Bcast& bc) {
  const int64_t sa = bc.astride[bc.ndim - 1], sb = bc.bstride[bc.ndim - 1];
  parallel_for(bcast_numel(bc), kGrain, [&](int64_t lo, int64_t hi) {
    bcast_walk(bc, lo, hi, [&](int64_t pos, int64_t ao, int64_t bo, int64_t len) { row<OP, T>(out + pos, a + ao, sa, b + bo, sb, len); });
  });
}

// float32 against a float32 value; int32 against the exact double.
template <Cmp OP, class T, class S>
void scalar(float* out, const T* a, S s, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = compare_values<OP>(static_cast<S>(a[i]), s) ? 1.f : 0.f;
  });
}

template <Cmp OP>
void tensors_of(float* out, const void* a, const void* b, const Bcast& bc, DType dtype) {
  if (dtype == DType::Float32) tensors<OP>(out, static_cast<const float*>(a), static_cast<const float*>(b), bc);
  else tensors<OP>(out, static_cast<const int32_t*>(a), static_cast<const int32_t*>(b), bc);
}

template <Cmp OP>
void scalar_of(float* out, const void* a, double s, int64_t n, DType dtype) {
  if (dtype == DType::Float32) scalar<OP>(out, static_cast<const float*>(a), static_cast<float>(s), n);
  else scalar<OP>(out, static_cast<const int32_t*>(a), s, n);
}

}  // namespace

void compare_forward(float* out, const void* a, const void* b, const Bcast& bc, DType dtype, Cmp op) {
  visit_cmp(op, [&](auto c) { tensors_of<decltype(c)::value>(out, a, b, bc, dtype); });
}

void compare_scalar_forward(float* out, const void* a, double s, int64_t n, DType dtype, Cmp op) {
  visit_cmp(op, [&](auto c) { scalar_of<decltype(c)::value>(out, a, s, n, dtype); });
}

}  // namespace cg::cpu
