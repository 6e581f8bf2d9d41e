// CPU random fills (ops/random.h): one Philox block per four elements, split
// over the thread pool by whole blocks.
#include "../ops/random.h"

#include "../runtime/philox.h"
#include "../runtime/thread_pool.h"

namespace cg::cpu {

namespace {
constexpr int64_t kGrainBlocks = 1 << 12;

// fn(block index, the block's four words, first element index)
template <typename F>
void for_each_block(int64_t n, uint64_t seed, uint64_t offset, F&& fn) {
  int64_t blocks = (n + 3) / 4;
  parallel_for(blocks, kGrainBlocks, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) fn(philox::block(seed, offset, static_cast<uint64_t>(b)), b * 4);
  });
}
}  // namespace

void uniform(float* out, int64_t n, uint64_t seed, uint64_t offset, float low, float high) {
  for_each_block(n, seed, offset, [&](const philox::U32x4& w, int64_t i0) {
    for (int k = 0; k < 4 && i0 + k < n; ++k) out[i0 + k] = philox::uniform(w.v[k], low, high);
  });
}

void normal(float* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float stdev) {
  for_each_block(n, seed, offset, [&](const philox::U32x4& w, int64_t i0) {
    float z[4];
    philox::normal_pair(w.v[0], w.v[1], mean, stdev, &z[0], &z[1]);
    philox::normal_pair(w.v[2], w.v[3], mean, stdev, &z[2], &z[3]);
    for (int k = 0; k < 4 && i0 + k < n; ++k) out[i0 + k] = z[k];
  });
}

}  // namespace cg::cpu
