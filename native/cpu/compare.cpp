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

template <Cmp OP, class X, class Y>
inline bool cmp(X x, Y y) {
  if constexpr (OP == Cmp::Eq) return x == y;
  else if constexpr (OP == Cmp::Ne) return x != y;
  else if constexpr (OP == Cmp::Lt) return x < y;
  else if constexpr (OP == Cmp::Le) return x <= y;
  else if constexpr (OP == Cmp::Gt) return x > y;
  else return x >= y;
}

// out[i] = a[i * sa] op b[i * sb], sa, sb in {0, 1}.
template <Cmp OP, class T>
inline void row(float* out, const T* a, int64_t sa, const T* b, int64_t sb, int64_t n) {
  if (sa && sb) {
    for (int64_t i = 0; i < n; ++i) out[i] = cmp<OP>(a[i], b[i]) ? 1.f : 0.f;
  } else if (sa) {
    const T y = *b;
    for (int64_t i = 0; i < n; ++i) out[i] = cmp<OP>(a[i], y) ? 1.f : 0.f;
  } else if (sb) {
    const T x = *a;
    for (int64_t i = 0; i < n; ++i) out[i] = cmp<OP>(x, b[i]) ? 1.f : 0.f;
  } else {
    const float v = cmp<OP>(*a, *b) ? 1.f : 0.f;
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
    for (int64_t i = lo; i < hi; ++i) out[i] = cmp<OP>(static_cast<S>(a[i]), s) ? 1.f : 0.f;
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
  switch (op) {
    case Cmp::Eq: tensors_of<Cmp::Eq>(out, a, b, bc, dtype); break;
    case Cmp::Ne: tensors_of<Cmp::Ne>(out, a, b, bc, dtype); break;
    case Cmp::Lt: tensors_of<Cmp::Lt>(out, a, b, bc, dtype); break;
    case Cmp::Le: tensors_of<Cmp::Le>(out, a, b, bc, dtype); break;
    case Cmp::Gt: tensors_of<Cmp::Gt>(out, a, b, bc, dtype); break;
    default: tensors_of<Cmp::Ge>(out, a, b, bc, dtype); break;
  }
}

void compare_scalar_forward(float* out, const void* a, double s, int64_t n, DType dtype, Cmp op) {
  switch (op) {
    case Cmp::Eq: scalar_of<Cmp::Eq>(out, a, s, n, dtype); break;
    case Cmp::Ne: scalar_of<Cmp::Ne>(out, a, s, n, dtype); break;
    case Cmp::Lt: scalar_of<Cmp::Lt>(out, a, s, n, dtype); break;
    case Cmp::Le: scalar_of<Cmp::Le>(out, a, s, n, dtype); break;
    case Cmp::Gt: scalar_of<Cmp::Gt>(out, a, s, n, dtype); break;
    default: scalar_of<Cmp::Ge>(out, a, s, n, dtype); break;
  }
}

}  // namespace cg::cpu
