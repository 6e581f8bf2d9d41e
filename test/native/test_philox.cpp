// Philox 4x32-10 against the Random123 known-answer vectors (tests/kat_vectors
// of the Random123 distribution: counter, key -> expected words).
#include "../../native/runtime/philox.h"
#include "harness.h"

using cg::philox::U32x4;

static void check_kat(U32x4 ctr, uint32_t k0, uint32_t k1, U32x4 want) {
  U32x4 got = cg::philox::philox4x32_10(ctr, k0, k1);
  for (int i = 0; i < 4; ++i) CHECK_EQ(got.v[i], want.v[i]);
}

TEST(philox_kat_zero) { check_kat({{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}); }

TEST(philox_kat_ones) {
  check_kat({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu,
            {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}});
}

TEST(philox_kat_pi) {
  check_kat({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u,
            {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}});
}

TEST(philox_block_layout) {
  // block(seed, offset, b): b in counter words 0-1, offset in words 2-3, key = (lo(seed), hi(seed)).
  U32x4 got = cg::philox::block(0x299f31d0a4093822ull, 0x0370734413198a2eull, 0x85a308d3243f6a88ull);
  U32x4 want = {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}};
  for (int i = 0; i < 4; ++i) CHECK_EQ(got.v[i], want.v[i]);
}

TEST(philox_uniform_range) {
  CHECK_EQ(cg::philox::uniform(0u, 0.f, 1.f), 0.f);
  CHECK(cg::philox::uniform(0xffffffffu, 0.f, 1.f) < 1.f);
  CHECK_EQ(cg::philox::uniform(0x80000000u, -1.f, 1.f), 0.f);
}
