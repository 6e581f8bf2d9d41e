// A fixed pool of worker threads for the CPU kernels. parallel_for splits
// [0, n) into at most num_threads() contiguous chunks of at least `grain`
// items; the calling thread runs the first chunk itself. Calls made from
// inside a chunk run inline (no nested parallelism). Size: CUDAGRAD_NUM_THREADS
// or the CPUs this process may run on; set_num_threads() changes it.
#pragma once

#include <cstdint>
#include <functional>

namespace cg {

int num_threads();
void set_num_threads(int n);  // n >= 1; throws RangeError otherwise

// fn(begin, end) over disjoint chunks covering [0, n). Exceptions thrown by a
// chunk are rethrown in the caller after every chunk has finished.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace cg
