// Shared by the CPU attention forward (attention.cpp) and backward
// (attention_backward.cpp): tile sizes, the argument blocks handed to the
// per-ISA bodies, and the key-padding mask turned into one additive row per
// batch (padded to whole key tiles with -inf).
#pragma once

#include <cstdint>
#include <vector>

namespace cg::cpu::attn {

// Queries x keys per score tile. Multiples of every vector width (16).
constexpr int64_t kBq = 64;
constexpr int64_t kBk = 64;

// Causal tiles (cut by the diagonal) are computed by groups of kRg query rows
// and kRg keys, skipping the fully masked parts. A multiple of every W.
constexpr int64_t kRg = 16;

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Columns of a diagonal tile a row group computes: the `lim` keys its last
// row may see, rounded up to kRg, within [0, nkv].
inline int64_t causal_extent(int64_t lim, int64_t nkv) {
  if (lim <= 0) return 0;
  lim = round_up(lim, kRg);
  return lim < nkv ? lim : nkv;
}

struct FwdArgs {
  float* out;         // (B, H, Tq, D)
  float* lse;         // (B, H, Tq)
  const float* q;     // (B, H, Tq, D)
  const float* k;     // (B, H, Tk, D)
  const float* v;     // (B, H, Tk, D)
  const float* madd;  // (B, Tkp): mask as additive values, -inf past Tk
  int64_t H, Tq, Tk, D, Tkp;
  bool masked;        // a key-padding mask was given: excluded keys' K, V rows are read as zeros
  bool causal;
  float scale;
};

struct BwdArgs {
  float* dq;          // (B, H, Tq, D)
  float* dk;          // (B, H, Tk, D)
  float* dv;          // (B, H, Tk, D)
  const float* dout;  // (B, H, Tq, D)
  const float* q;
  const float* k;
  const float* v;
  const float* out;   // forward output (B, H, Tq, D)
  const float* lse;   // forward log-sum-exp (B, H, Tq)
  const float* madd;  // (B, Tkp)
  int64_t H, Tq, Tk, D, Tkp;
  bool masked;
  bool causal;
  float scale;
  // splits > 1 (fewer heads than threads): task bh * splits + s takes key
  // tiles s, s + splits, ... and writes its share of dq to
  // dq_part + task * Tq * ld_part (rows of ld_part = round_up(D, 16) floats).
  int64_t splits;
  float* dq_part;
  int64_t ld_part;
};

// Per-thread scratch of n floats, 64-byte aligned, reused across calls while n <= kKeepFloats
// (repeated calls then neither allocate nor page-fault), a fresh allocation
// above that (freed with the Scratch). One live Scratch per thread at a time.
class Scratch {
 public:
  static constexpr size_t kKeepFloats = size_t(1) << 21;  // 8 MiB
  explicit Scratch(size_t n);
  float* data() const { return p_; }

 private:
  std::vector<float> own_;
  float* p_;
};

// (B, Tkp) additive rows: the float mask as is, the int32 mask as 0 / -inf,
// zeros without a mask; -inf for the padding keys Tk <= j < Tkp.
std::vector<float> additive_mask(const float* mask, const int32_t* mask_bool, int64_t B, int64_t Tk, int64_t Tkp);

}  // namespace cg::cpu::attn
