// Default generator state, guarded by a mutex (ops are issued from the JS
// thread, but async work may read it too).
#include "rng.h"

#include <mutex>

namespace cg::rng {

namespace {
std::mutex mutex;
State state;
}  // namespace

State get_state() {
  std::lock_guard<std::mutex> lock(mutex);
  return state;
}

void set_state(State s) {
  std::lock_guard<std::mutex> lock(mutex);
  state = s;
}

void manual_seed(uint64_t seed) { set_state(State{seed, 0}); }

State next() {
  std::lock_guard<std::mutex> lock(mutex);
  State s = state;
  state.offset++;
  return s;
}

}  // namespace cg::rng
