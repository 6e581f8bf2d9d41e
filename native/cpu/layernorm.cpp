// CPU LayerNorm (ops/layernorm.h): SIMD body per ISA (layernorm.inc). Forward
// splits rows over the pool; backward gives each task a block of rows and its
// own partial dweight/dbias rows (one scratch allocation per call), summed in
// task order at the end, so the result does not race and is reproducible for
// a given thread count.
#include "../ops/layernorm.h"

#include <algorithm>
#include <vector>

#include "../runtime/thread_pool.h"
#include "simd/simd.h"
#define CG_ISA_BODY "../layernorm.inc"
#include "simd/foreach_isa.h"

namespace cg::cpu {

namespace {
constexpr int64_t kGrain = 1 << 14;  // elements per chunk, at least
}

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                       int64_t N, int64_t C, float eps) {
  auto fn = CG_SIMD_PICK(layernorm_k::layernorm_forward);
  parallel_for(N, std::max<int64_t>(1, kGrain / std::max<int64_t>(C, 1)), [&](int64_t lo, int64_t hi) {
    fn(out + lo * C, mean + lo, rstd + lo, inp + lo * C, weight, bias, hi - lo, C, eps);
  });
}

void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int64_t N, int64_t C) {
  if (N == 0 || C == 0) return;
  auto fn = CG_SIMD_PICK(layernorm_k::layernorm_backward);
  int64_t tasks = std::clamp<int64_t>(std::min<int64_t>(num_threads(), (N * C + kGrain - 1) / kGrain), 1, N);
  std::vector<float> part(static_cast<size_t>(tasks * 2 * C), 0.f);  // per task: dweight row, dbias row
  parallel_for(tasks, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      int64_t r0 = N * t / tasks, r1 = N * (t + 1) / tasks;
      float* p = part.data() + t * 2 * C;
      fn(dinp + r0 * C, p, p + C, dout + r0 * C, inp + r0 * C, weight, mean + r0, rstd + r0, r1 - r0, C);
    }
  });
  auto sum = CG_SIMD_PICK(layernorm_k::add_partials);
  if (dweight) sum(dweight, part.data(), tasks, 2 * C, C);
  if (dbias) sum(dbias, part.data() + C, tasks, 2 * C, C);
}

}  // namespace cg::cpu
