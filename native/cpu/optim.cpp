// CPU optimizer updates (ops/optim.h): SIMD body per ISA (optim.inc), the
// elements split over the pool. The sum of squares gives each task its own
// partial (one per task, summed in task order), so it does not race and is
// reproducible for a given thread count.
#include "../ops/optim.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "../runtime/thread_pool.h"
#include "simd/simd.h"
#define CG_ISA_BODY "../optim.inc"
#include "simd/foreach_isa.h"

namespace cg::cpu {

namespace {
constexpr int64_t kGrain = 1 << 15;  // elements per chunk, at least
}

void sgd_step(float* param, const float* grad, float* momentum_buf, int64_t n, float lr, float momentum,
              float dampening, float weight_decay, bool nesterov, bool first) {
  auto fn = CG_SIMD_PICK(optim_k::sgd_step);
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    fn(param + lo, grad + lo, momentum_buf ? momentum_buf + lo : nullptr, hi - lo, lr, momentum, dampening,
       weight_decay, nesterov, first);
  });
}

void adam_step(float* param, const float* grad, float* m, float* v, int64_t n, const AdamScalars& s) {
  auto fn = CG_SIMD_PICK(optim_k::adam_step);
  parallel_for(n, kGrain,
               [&](int64_t lo, int64_t hi) { fn(param + lo, grad + lo, m + lo, v + lo, hi - lo, s, false, 1.f); });
}

void adam_step_multi(const AdamTensor* ts, int64_t count, const double* sumsq, double max_norm) {
  // clip_scale's factor and rule: scale unless coef >= 1 (a NaN norm scales by NaN).
  double coef = sumsq ? max_norm / (std::sqrt(*sumsq) + 1e-6) : 1.0;
  bool scale = !(coef >= 1);
  float gs = static_cast<float>(coef);
  auto fn = CG_SIMD_PICK(optim_k::adam_step);
  // One parallel loop over the tensors laid end to end (one pool dispatch, not one per tensor).
  std::vector<int64_t> start(static_cast<size_t>(count) + 1, 0);
  for (int64_t k = 0; k < count; ++k) start[k + 1] = start[k] + std::max<int64_t>(ts[k].n, 0);
  parallel_for(start[count], kGrain, [&](int64_t lo, int64_t hi) {
    int64_t k = std::upper_bound(start.begin(), start.end(), lo) - start.begin() - 1;
    for (; lo < hi; ++k) {
      const AdamTensor& t = ts[k];
      int64_t a = lo - start[k], b = std::min(hi, start[k + 1]) - start[k];
      if (b > a) fn(t.param + a, t.grad + a, t.m + a, t.v + a, b - a, t.s, scale, gs);
      lo = start[k] + b;
    }
  });
}

void sum_squares(double* out, const float* inp, int64_t n, bool accumulate) {
  auto fn = CG_SIMD_PICK(optim_k::sum_squares<>);
  int64_t tasks = std::clamp<int64_t>((n + kGrain - 1) / kGrain, 1, num_threads());
  std::vector<double> part(static_cast<size_t>(tasks), 0.0);
  parallel_for(tasks, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) part[t] = fn(inp + n * t / tasks, n * (t + 1) / tasks - n * t / tasks);
  });
  double total = 0;
  for (double p : part) total += p;
  out[0] = accumulate ? out[0] + total : total;
}

void sum_squares_multi(double* out, const float* const* inps, const int64_t* ns, int64_t count) {
  if (count == 0) out[0] = 0;
  for (int64_t k = 0; k < count; ++k) sum_squares(out, inps[k], ns[k], k > 0);
}

void clip_scale(float* x, int64_t n, const double* sumsq, double max_norm) {
  double coef = max_norm / (std::sqrt(*sumsq) + 1e-6);
  if (coef >= 1) return;
  float s = static_cast<float>(coef);
  auto fn = CG_SIMD_PICK(optim_k::scale);
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) { fn(x + lo, hi - lo, s); });
}

}  // namespace cg::cpu
