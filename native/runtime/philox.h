// Philox 4x32-10 (Salmon et al., SC'11), counter-based: the same (counter, key)
// gives the same four words on the CPU and on the GPU, so cudagrad.rand and
// randn produce the same numbers on both for the same seed.
//
// Stream layout used by every random op: element i of a call with generator
// (seed, offset) is word i % 4 of philox(counter = {lo(i/4), hi(i/4), lo(offset),
// hi(offset)}, key = {lo(seed), hi(seed)}). The transforms below use double
// arithmetic with one rounding per step (explicit fma) so both devices agree.
#pragma once

#include <cmath>
#include <cstdint>

#include "hd.h"

namespace cg::philox {

struct U32x4 {
  uint32_t v[4];
};

constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;

CG_HD U32x4 philox4x32_10(U32x4 ctr, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(kMul0) * ctr.v[0];
    uint64_t p1 = static_cast<uint64_t>(kMul1) * ctr.v[2];
    U32x4 next;
    next.v[0] = static_cast<uint32_t>(p1 >> 32) ^ ctr.v[1] ^ k0;
    next.v[1] = static_cast<uint32_t>(p1);
    next.v[2] = static_cast<uint32_t>(p0 >> 32) ^ ctr.v[3] ^ k1;
    next.v[3] = static_cast<uint32_t>(p0);
    ctr = next;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return ctr;
}

// The four words for block `block` (= element index / 4) of stream (seed, offset).
CG_HD U32x4 block(uint64_t seed, uint64_t offset, uint64_t block) {
  U32x4 ctr = {{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), static_cast<uint32_t>(offset),
                static_cast<uint32_t>(offset >> 32)}};
  return philox4x32_10(ctr, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// Uniform in [low, high): 24 random bits, exact product, one rounding to double, one to float.
CG_HD float uniform(uint32_t bits, float low, float high) {
  double u = static_cast<double>(bits >> 8) * (1.0 / 16777216.0);
  return static_cast<float>(fma(static_cast<double>(high) - static_cast<double>(low), u, static_cast<double>(low)));
}

// Box-Muller: words (a, b) -> two standard normals (r cos t, r sin t), then mean + std * z.
CG_HD void normal_pair(uint32_t a, uint32_t b, float mean, float stdev, float* z0, float* z1) {
  const double kTwoPiOver2Pow32 = 6.283185307179586476925286766559 / 4294967296.0;
  double u = (static_cast<double>(a) + 0.5) * (1.0 / 4294967296.0);  // (0, 1)
  double r = sqrt(-2.0 * log(u));
  double t = static_cast<double>(b) * kTwoPiOver2Pow32;
  *z0 = static_cast<float>(fma(static_cast<double>(stdev), r * cos(t), static_cast<double>(mean)));
  *z1 = static_cast<float>(fma(static_cast<double>(stdev), r * sin(t), static_cast<double>(mean)));
}

}  // namespace cg::philox
