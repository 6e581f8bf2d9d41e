// CPU attention forward (ops/attention.h): SIMD body per ISA (attention.inc),
// tasks = (batch, head) x query tiles split over the pool; scratch allocated
// once per thread chunk. Also the shared additive-mask helper.
#include "../ops/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../runtime/thread_pool.h"
#include "attention_common.h"
#include "simd/simd.h"
#define CG_ISA_BODY "../attention.inc"
#include "simd/foreach_isa.h"

namespace cg::cpu {

namespace attn {

std::vector<float> additive_mask(const float* mask, const int32_t* mask_bool, int64_t B, int64_t Tk, int64_t Tkp) {
  const float ninf = -INFINITY;
  std::vector<float> madd(static_cast<size_t>(B * Tkp), ninf);
  for (int64_t b = 0; b < B; ++b) {
    float* row = madd.data() + b * Tkp;
    for (int64_t j = 0; j < Tk; ++j) {
      if (mask) row[j] = mask[b * Tk + j];
      else if (mask_bool) row[j] = mask_bool[b * Tk + j] ? 0.f : ninf;
      else row[j] = 0.f;
    }
  }
  return madd;
}

Scratch::Scratch(size_t n) {
  thread_local std::vector<float> cache;
  n += 16;  // room to align to 64 bytes
  std::vector<float>& buf = n <= kKeepFloats ? cache : own_;
  if (buf.size() < n) buf.resize(n);
  const uintptr_t addr = reinterpret_cast<uintptr_t>(buf.data());
  p_ = reinterpret_cast<float*>((addr + 63) & ~uintptr_t(63));
}

}  // namespace attn

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, const float* mask,
                       const int32_t* mask_bool, int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t D, bool causal) {
  const int64_t Tkp = attn::round_up(Tk, attn::kBk);
  std::vector<float> madd = attn::additive_mask(mask, mask_bool, B, Tk, Tkp);
  attn::FwdArgs a{out, lse, q, k, v, madd.data(), H, Tq, Tk, D, Tkp, mask || mask_bool, causal, static_cast<float>(1.0 / std::sqrt(double(D)))};
  const int64_t tasks = B * H * ((Tq + attn::kBq - 1) / attn::kBq);
  auto fn = CG_SIMD_PICK(attention_forward_tasks);
  auto scratch_floats = CG_SIMD_PICK(attention_forward_scratch);
  const int64_t n_scratch = scratch_floats(Tk, D, Tkp, a.masked);
  parallel_for(tasks, 1, [&](int64_t lo, int64_t hi) {
    attn::Scratch scratch(static_cast<size_t>(n_scratch));
    fn(a, lo, hi, scratch.data());
  });
}

}  // namespace cg::cpu
