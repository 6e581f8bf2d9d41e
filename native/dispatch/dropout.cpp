// Dropout dispatch (dispatch/dropout.h).
#include "dropout.h"

#include <cmath>

#include "../runtime/error.h"
#include "check.h"
#include "creation.h"
#include "on_device.h"

namespace cg::dispatch {

namespace {

void check_p(const char* op, double p) {
  if (!(p >= 0 && p <= 1)) throw_range_error(op, ": p must be in [0, 1], got ", p);
}

// keep_i <=> (word >> 8) >= ceil(p_f * 2^24) <=> (word >> 8) * 2^-24 >= p_f, p_f = float32(p).
uint32_t threshold(double p) {
  return static_cast<uint32_t>(std::ceil(static_cast<double>(static_cast<float>(p)) * 16777216.0));
}

// Masked scaling of `inp` (forward or backward), or the identity / zero shortcuts.
TensorPtr masked(const char* op, const TensorImpl& inp, double p, rng::State s, bool backward) {
  if (p == 0) return clone(op, inp);
  if (p == 1) return full(op, inp.shape(), DType::Float32, 0.0, inp.device());
  TensorPtr out = empty(op, inp.shape(), DType::Float32, inp.device());
  float scale = static_cast<float>(1.0 / (1.0 - p));
  if (backward)
    CG_ON_DEVICE(inp.device(), dropout_backward, out->data_as<float>(), inp.data_as<float>(), inp.numel(),
                 threshold(p), scale, s.seed, s.offset);
  else
    CG_ON_DEVICE(inp.device(), dropout_forward, out->data_as<float>(), inp.data_as<float>(), inp.numel(),
                 threshold(p), scale, s.seed, s.offset);
  return out;
}

}  // namespace

DropoutOut dropout_forward(const TensorImpl& inp, double p, bool training, std::optional<uint64_t> seed) {
  const char* op = "cudagrad.dropout";
  check_dtype(op, inp, DType::Float32, "input");
  check_p(op, p);
  bool draws = training && p > 0 && p < 1;
  rng::State s = seed ? rng::State{*seed, 0} : draws ? rng::next() : rng::get_state();
  return DropoutOut{masked(op, inp, training ? p : 0.0, s, false), s};
}

TensorPtr dropout_backward(const TensorImpl& dout, double p, rng::State state) {
  const char* op = "cudagrad.dropout backward";
  check_dtype(op, dout, DType::Float32, "dout");
  check_p(op, p);
  return masked(op, dout, p, state, true);
}

}  // namespace cg::dispatch
