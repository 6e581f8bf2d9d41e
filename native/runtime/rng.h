// The default random generator: a seed and an offset. Each unseeded random op
// takes the current offset and advances it by one (the element index lives in
// the other counter words, see philox.h). State can be read and restored
// exactly, for checkpoints.
#pragma once

#include <cstdint>

namespace cg::rng {

constexpr uint64_t kDefaultSeed = 67280421310721ull;

struct State {
  uint64_t seed = kDefaultSeed;
  uint64_t offset = 0;
};

State get_state();
void set_state(State s);
void manual_seed(uint64_t seed);  // seed, offset 0
State next();                     // the state to use for one op; advances the offset

}  // namespace cg::rng
