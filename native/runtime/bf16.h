// bfloat16 as raw bits (uint16_t), for host code and CUDA kernels alike: the
// upper half of a float32. float -> bf16 rounds to nearest even (as
// __float2bfloat16 and torch), keeps infinities, and keeps NaN a quiet NaN;
// bf16 -> float is exact.
#pragma once

#include <cstdint>
#include <cstring>

#include "hd.h"

namespace cg {

CG_HD uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

CG_HD float bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

CG_HD uint16_t bf16_from_float(float f) {
  uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // NaN, made quiet
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

CG_HD float bf16_to_float(uint16_t h) { return bits_float(static_cast<uint32_t>(h) << 16); }

}  // namespace cg
