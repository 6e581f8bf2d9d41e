// CPU dtype conversion (ops/cast.h): one parallel loop per (from, to) pair.
#include "../ops/cast.h"

#include "../runtime/error.h"
#include "../runtime/thread_pool.h"

namespace cg::cpu {

namespace {

constexpr int64_t kGrain = 1 << 15;

template <typename Out, typename In>
void cast_typed(void* out, const void* in, int64_t n) {
  Out* o = static_cast<Out*>(out);
  const In* x = static_cast<const In*>(in);
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) cast_one(o + i, x[i]);
  });
}

template <typename In>
void cast_from(void* out, DType to, const void* in, int64_t n) {
  switch (to) {
    case DType::Float32: return cast_typed<float, In>(out, in, n);
    case DType::Int32: return cast_typed<int32_t, In>(out, in, n);
    case DType::BFloat16: return cast_typed<uint16_t, In>(out, in, n);
  }
  throw_error("cast: unknown dtype");
}

}  // namespace

void cast(void* out, DType to, const void* in, DType from, int64_t n) {
  if (n <= 0) return;
  switch (from) {
    case DType::Float32: return cast_from<float>(out, to, in, n);
    case DType::Int32: return cast_from<int32_t>(out, to, in, n);
    case DType::BFloat16: return cast_from<uint16_t>(out, to, in, n);
  }
  throw_error("cast: unknown dtype");
}

}  // namespace cg::cpu
