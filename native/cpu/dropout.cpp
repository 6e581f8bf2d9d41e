// CPU dropout (ops/dropout.h): SIMD body per ISA (dropout.inc), the elements
// split over the pool in groups of 64 (whole Philox blocks for every ISA).
// Forward and backward are the same masked scaling of their input.
#include "../ops/dropout.h"

#include <algorithm>

#include "../runtime/philox.h"
#include "../runtime/thread_pool.h"
#include "simd/simd.h"
#define CG_ISA_BODY "../dropout.inc"
#include "simd/foreach_isa.h"

namespace cg::cpu {

namespace {
constexpr int64_t kGroup = 64;             // elements: 4 words x 16 lanes, a multiple of 4W for every ISA
constexpr int64_t kGrainGroups = 1 << 8;   // groups per chunk, at least

void apply(float* out, const float* inp, int64_t n, uint32_t threshold, float scale, uint64_t seed, uint64_t offset) {
  auto fn = CG_SIMD_PICK(dropout_k::dropout_apply);
  int64_t groups = (n + kGroup - 1) / kGroup;
  parallel_for(groups, kGrainGroups, [&](int64_t lo, int64_t hi) {
    fn(out, inp, lo * kGroup, std::min(n, hi * kGroup), threshold, scale, seed, offset);
  });
}
}  // namespace

void dropout_forward(float* out, const float* inp, int64_t n, uint32_t threshold, float scale, uint64_t seed,
                     uint64_t offset) {
  apply(out, inp, n, threshold, scale, seed, offset);
}

void dropout_backward(float* dinp, const float* dout, int64_t n, uint32_t threshold, float scale, uint64_t seed,
                      uint64_t offset) {
  apply(dinp, dout, n, threshold, scale, seed, offset);
}

}  // namespace cg::cpu
