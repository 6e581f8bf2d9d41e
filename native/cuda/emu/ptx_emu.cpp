// Emulated PTX (emu/ptx_emu.h): mma tile math from the fragment layouts,
// ldmatrix distribution, the resolution of cp.async groups, and wgmma
// (descriptor decoding, warpgroup agreement, products at wait_group).
#include "ptx_emu.h"

namespace cg::emu {

namespace {

float tf32_bits(uint32_t r) {
  r &= 0xffffe000u;  // the tensor core reads 1 + 8 + 10 bits
  float f;
  std::memcpy(&f, &r, 4);
  return f;
}

float bf16_bits(uint32_t reg, int half) {
  uint32_t u = (half ? reg >> 16 : reg & 0xffffu) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// D = A (16 x K) * B (K x 8) + C, C/D in the shared accumulator layout.
void mma_finish(const double A[16][16], const double B[16][8], int K, const void* const* in, void* const* out) {
  for (int lane = 0; lane < 32; ++lane) {
    const MmaIn& me = *static_cast<const MmaIn*>(in[lane]);
    float* d = static_cast<float*>(out[lane]);
    int g = lane >> 2, t = lane & 3;
    for (int i = 0; i < 4; ++i) {
      int row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i & 1);
      double acc = me.c[i];
      for (int k = 0; k < K; ++k) acc += A[row][k] * B[k][col];
      d[i] = static_cast<float>(acc);
    }
  }
}

uint16_t read_b16(const unsigned char* row, int col) {
  uint16_t v;
  std::memcpy(&v, row + 2 * col, 2);
  return v;
}

void ldmatrix(const void* const* in, void* const* out, bool trans) {
  for (int j = 0; j < 4; ++j) {
    const unsigned char* rows[8];
    for (int r = 0; r < 8; ++r) rows[r] = *static_cast<const unsigned char* const*>(in[8 * j + r]);
    for (int lane = 0; lane < 32; ++lane) {
      int a = lane / 4, b = 2 * (lane % 4);
      uint16_t lo = trans ? read_b16(rows[b], a) : read_b16(rows[a], b);
      uint16_t hi = trans ? read_b16(rows[b + 1], a) : read_b16(rows[a], b + 1);
      static_cast<uint32_t*>(out[lane])[j] = static_cast<uint32_t>(lo) | static_cast<uint32_t>(hi) << 16;
    }
  }
}

}  // namespace

void resolve_mma_tf32(const void* const* in, void* const* out, unsigned, int) {
  double A[16][16] = {}, B[16][8] = {};
  for (int lane = 0; lane < 32; ++lane) {
    const MmaIn& me = *static_cast<const MmaIn*>(in[lane]);
    int g = lane >> 2, t = lane & 3;
    A[g][t] = tf32_bits(me.a[0]);
    A[g + 8][t] = tf32_bits(me.a[1]);
    A[g][t + 4] = tf32_bits(me.a[2]);
    A[g + 8][t + 4] = tf32_bits(me.a[3]);
    B[t][g] = tf32_bits(me.b[0]);
    B[t + 4][g] = tf32_bits(me.b[1]);
  }
  mma_finish(A, B, 8, in, out);
}

void resolve_mma_bf16(const void* const* in, void* const* out, unsigned, int) {
  double A[16][16] = {}, B[16][8] = {};
  for (int lane = 0; lane < 32; ++lane) {
    const MmaIn& me = *static_cast<const MmaIn*>(in[lane]);
    int g = lane >> 2, t = lane & 3;
    for (int i = 0; i < 8; ++i) {
      int row = (i < 2 || (i >= 4 && i < 6)) ? g : g + 8;
      int col = 2 * t + (i & 1) + (i >= 4 ? 8 : 0);
      A[row][col] = bf16_bits(me.a[i / 2], i % 2);
    }
    for (int i = 0; i < 4; ++i) B[2 * t + (i & 1) + (i >= 2 ? 8 : 0)][g] = bf16_bits(me.b[i / 2], i % 2);
  }
  mma_finish(A, B, 16, in, out);
}

void resolve_ldmatrix(const void* const* in, void* const* out, unsigned, int) { ldmatrix(in, out, false); }
void resolve_ldmatrix_trans(const void* const* in, void* const* out, unsigned, int) { ldmatrix(in, out, true); }

}  // namespace cg::emu

// --- wgmma (sm_90a)

namespace cg::emu {

namespace {

constexpr uint64_t kField14 = 0x3FFFu;
// Bits the descriptor format leaves unused (14-15, 30-31, 46-48, 52-61).
constexpr uint64_t kReservedBits = (uint64_t(3) << 14) | (uint64_t(3) << 30) | (uint64_t(7) << 46) | (uint64_t(0x3FF) << 52);

struct Desc {
  uint32_t start, lbo, sbo;  // bytes
};

[[noreturn]] void wgmma_error(const char* file, int line, const std::string& what) {
  const char* base = std::strrchr(file, '/');
  throw std::runtime_error(std::string("wgmma.mma_async at ") + (base ? base + 1 : file) + ":" + std::to_string(line) +
                           ": " + what);
}

Desc decode(uint64_t desc, const char* which, const char* file, int line) {
  if (desc & kReservedBits) wgmma_error(file, line, std::string(which) + " descriptor has reserved bits set");
  int swizzle = static_cast<int>(desc >> 62);
  if (swizzle != 0)
    wgmma_error(file, line, std::string(which) + " descriptor asks for swizzle mode " + std::to_string(swizzle) +
                                " (only 0, no swizzle, is emulated)");
  // The base offset (bits 49-51) only matters for swizzled layouts.
  return Desc{static_cast<uint32_t>(desc & kField14) << 4, static_cast<uint32_t>(desc >> 16 & kField14) << 4,
              static_cast<uint32_t>(desc >> 32 & kField14) << 4};
}

// Element (row, k) of a K-major, no-swizzle bf16 operand: 8x8 core matrices of
// 8 rows x 16 bytes; SBO to the next 8 rows, LBO to the next 8 elements of K.
float operand(const Desc& d, int row, int k, const char* file, int line) {
  size_t off = size_t(d.start) + size_t(row % 8) * 16 + size_t(row / 8) * d.sbo + size_t(k % 8) * 2 + size_t(k / 8) * d.lbo;
  if (off + 2 > dynamic_smem_size())
    wgmma_error(file, line, "operand element at shared offset " + std::to_string(off) + " lies outside the " +
                                std::to_string(dynamic_smem_size()) + " bytes of dynamic shared memory");
  uint16_t v;
  std::memcpy(&v, static_cast<const unsigned char*>(dynamic_smem()) + off, 2);
  return bf16_bits(v, 0);
}

struct WgmmaIn {
  uint64_t da, db;
  int accumulate;
};

void resolve_wgmma_agree(const void* const* in, void* const* out, unsigned, int n) {
  const WgmmaIn& first = *static_cast<const WgmmaIn*>(in[0]);
  bool same = true;
  for (int k = 1; k < n; ++k) {
    const WgmmaIn& o = *static_cast<const WgmmaIn*>(in[k]);
    same = same && o.da == first.da && o.db == first.db && o.accumulate == first.accumulate;
  }
  for (int k = 0; k < n; ++k) *static_cast<int*>(out[k]) = same;
}

// This thread's part of D (64 x 128) = A (64 x 16) B (16 x 128) (+ D): its 64 accumulators.
void run_wgmma_bf16_m64n128k16(const WgmmaOp& op) {
  const char* file = op.file;
  const int line = op.line;
  const Desc a = decode(op.desc_a, "A", file, line), b = decode(op.desc_b, "B", file, line);
  int x = thread_linear() % 128, w = x / 32, g = (x % 32) / 4, t = x % 4;
  double arow[2][16], bcol[32][16];
  for (int h = 0; h < 2; ++h)
    for (int k = 0; k < 16; ++k) arow[h][k] = operand(a, 16 * w + g + 8 * h, k, file, line);
  for (int j = 0; j < 16; ++j)
    for (int e = 0; e < 2; ++e)
      for (int k = 0; k < 16; ++k) bcol[2 * j + e][k] = operand(b, 8 * j + 2 * t + e, k, file, line);
  for (int i = 0; i < 64; ++i) {
    const double* ar = arow[(i / 2) % 2];
    const double* bc = bcol[2 * (i / 4) + i % 2];
    double acc = op.accumulate ? op.d[i] : 0.0;
    for (int k = 0; k < 16; ++k) acc += ar[k] * bc[k];
    op.d[i] = static_cast<float>(acc);
  }
}

}  // namespace

uint64_t wgmma_smem_desc(const void* smem, uint32_t lbo_bytes, uint32_t sbo_bytes) {
  const auto* p = static_cast<const unsigned char*>(smem);
  const auto* base = static_cast<const unsigned char*>(dynamic_smem());
  if (p < base || p >= base + dynamic_smem_size())
    throw std::runtime_error("smem_desc: the operand is not in dynamic shared memory (the emulator maps descriptor "
                             "addresses to the dynamic shared memory window)");
  uint64_t addr = static_cast<uint64_t>(p - base);
  if (addr % 16) throw std::runtime_error("smem_desc: operand address not 16-byte aligned");
  return ((addr & 0x3FFFFu) >> 4) | static_cast<uint64_t>((lbo_bytes & 0x3FFFFu) >> 4) << 16 |
         static_cast<uint64_t>((sbo_bytes & 0x3FFFFu) >> 4) << 32;
}

void wgmma_fence() { wgmma_state().fenced = true; }

void wgmma_commit() {
  WgmmaState& s = wgmma_state();
  s.group_ends.push_back(s.ops.size());
}

void wgmma_wait(int n) {
  WgmmaState& s = wgmma_state();
  s.fenced = false;
  if (static_cast<int>(s.group_ends.size()) <= n) return;
  size_t retire_groups = s.group_ends.size() - static_cast<size_t>(n);
  size_t upto = s.group_ends[retire_groups - 1];
  for (size_t i = 0; i < upto; ++i) run_wgmma_bf16_m64n128k16(s.ops[i]);
  s.ops.erase(s.ops.begin(), s.ops.begin() + static_cast<std::ptrdiff_t>(upto));
  s.group_ends.erase(s.group_ends.begin(), s.group_ends.begin() + static_cast<std::ptrdiff_t>(retire_groups));
  for (size_t& e : s.group_ends) e -= upto;
}

void wgmma_mma_bf16_m64n128k16(const char* file, int line, float* d, uint64_t da, uint64_t db, int accumulate) {
  WgmmaIn in{da, db, accumulate != 0};
  int same = 0;
  warpgroup_collective("wgmma.mma_async", file, line, &in, sizeof in, &same, resolve_wgmma_agree);
  if (!same) wgmma_error(file, line, "the warpgroup's threads passed different descriptors or scale-d");
  WgmmaState& s = wgmma_state();
  if (!s.fenced) wgmma_error(file, line, "no wgmma.fence since this thread's last wgmma.wait_group (or kernel start)");
  decode(da, "A", file, line);  // fail at the issue for a bad descriptor
  decode(db, "B", file, line);
  s.ops.push_back(WgmmaOp{da, db, d, in.accumulate, file, line});
}

}  // namespace cg::emu
