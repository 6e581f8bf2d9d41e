// Random fills from the Philox 4x32-10 stream (runtime/philox.h). No gradient.
// out (n) float32. Element i depends only on (seed, offset, i), so the CPU and
// CUDA versions produce the same numbers.
#pragma once

#include <cstdint>

namespace cg::cpu {
// uniform in [low, high)
void uniform(float* out, int64_t n, uint64_t seed, uint64_t offset, float low, float high);
// normal(mean, stdev) by Box-Muller on word pairs (0,1) and (2,3) of each block
void normal(float* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float stdev);
}  // namespace cg::cpu

namespace cg::cuda {
void uniform(float* out, int64_t n, uint64_t seed, uint64_t offset, float low, float high);
void normal(float* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float stdev);
}  // namespace cg::cuda
