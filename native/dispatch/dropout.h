// Dropout dispatch: float32 input of any shape, p in [0, 1] (else RangeError).
// Forward draws its generator state from `seed` (state (seed, 0)) or, without
// one, from the default generator (advancing its offset by one) and returns
// it with the output, so backward can regenerate the mask. Identity cases (not
// training, or p == 0) return a copy and p == 1 returns zeros; neither draws
// from the generator (the state returned is then the generator's current one,
// or (seed, 0)).
#pragma once

#include <optional>

#include "../ops/dropout.h"
#include "../runtime/rng.h"
#include "../runtime/tensor.h"

namespace cg::dispatch {

struct DropoutOut {
  TensorPtr out;
  rng::State state;
};

DropoutOut dropout_forward(const TensorImpl& inp, double p, bool training, std::optional<uint64_t> seed);
TensorPtr dropout_backward(const TensorImpl& dout, double p, rng::State state);

}  // namespace cg::dispatch
