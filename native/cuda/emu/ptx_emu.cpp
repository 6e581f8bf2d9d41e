// Emulated PTX (emu/ptx_emu.h): mma tile math from the fragment layouts,
// ldmatrix distribution, and the resolution of cp.async groups.
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
