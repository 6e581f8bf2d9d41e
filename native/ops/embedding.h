// Embedding lookup. idx (N) int32, each in [0, V): dispatch checks CPU
// indices on the host; the CUDA kernels check on the device (report_index_error,
// raised at the next sync), giving a zero output row / no gradient for a bad one.
// weight (V, C).
//   forward:  out (N, C) = weight[idx[n], :]
//   backward: dweight (V, C) += sum over n with idx[n] == v of dout[n, :]
//             (parameter gradient: +=). CPU: deterministic without atomics:
//             each dweight element is owned by one thread and sums its rows in
//             token order, so the result is the same for any thread count.
//             CUDA: the same row ownership (token order, deterministic) when
//             V <= 4096 and V * N <= 2^24; float atomics otherwise (the order
//             of additions into a shared row may vary between runs).
#pragma once

#include <cstdint>

namespace cg::cpu {
void embedding_forward(float* out, const int32_t* idx, const float* weight, int64_t N, int64_t V, int64_t C);
void embedding_backward(float* dweight, const float* dout, const int32_t* idx, int64_t N, int64_t V, int64_t C);
}  // namespace cg::cpu

namespace cg::cuda {
void embedding_forward(float* out, const int32_t* idx, const float* weight, int64_t N, int64_t V, int64_t C);
void embedding_backward(float* dweight, const float* dout, const int32_t* idx, int64_t N, int64_t V, int64_t C);
}  // namespace cg::cuda
