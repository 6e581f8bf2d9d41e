// Dropout from the Philox 4x32-10 stream (runtime/philox.h), mask never stored.
// Element i of a call with generator (seed, offset) uses word i % 4 of
// philox block i / 4 -- the word cudagrad.rand turns into u_i = (word >> 8) * 2^-24
// -- and is kept when u_i >= p (p as float32), i.e. when (word >> 8) >= threshold
// with threshold = ceil(p * 2^24), computed by dispatch.
//   forward:  out (n)  = keep_i ? inp_i * scale : 0     scale = 1 / (1 - p)
//   backward: dinp (n) = keep_i ? dout_i * scale : 0    (same mask, regenerated;
//             activation gradient: =)
// Dropped elements are 0 even where the input is inf or NaN.
#pragma once

#include <cstdint>

namespace cg::cpu {
void dropout_forward(float* out, const float* inp, int64_t n, uint32_t threshold, float scale, uint64_t seed,
                     uint64_t offset);
void dropout_backward(float* dinp, const float* dout, int64_t n, uint32_t threshold, float scale, uint64_t seed,
                      uint64_t offset);
}  // namespace cg::cpu

namespace cg::cuda {
void dropout_forward(float* out, const float* inp, int64_t n, uint32_t threshold, float scale, uint64_t seed,
                     uint64_t offset);
void dropout_backward(float* dinp, const float* dout, int64_t n, uint32_t threshold, float scale, uint64_t seed,
                      uint64_t offset);
}  // namespace cg::cuda
