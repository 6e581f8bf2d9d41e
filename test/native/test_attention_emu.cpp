// The CUDA attention kernels under the SIMT emulator (CUDAGRAD_EMULATE_CUDA
// builds only), in every block/thread schedule the emulator offers (forward,
// reverse, shuffled): a missing barrier or a race between threads would give
// different bits in some order, so each precision's outputs must be
// bit-for-bit identical across schedules (the kernels are deterministic: no
// atomics), and close to the CPU kernels (float32 SIMT: 1e-5 + 1e-4 rel;
// TF32: 5e-3; bf16: 4e-2, on inputs of size ~1).
#if defined(CG_EMULATE_CUDA)

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../../native/cuda/emu/simt.h"
#include "../../native/ops/attention.h"
#include "../../native/runtime/precision.h"
#include "harness.h"

namespace {

struct Shape {
  int B, H, Tq, Tk, D;
  bool causal;
  int mask;  // 0 none, 1 float, 2 int32
};

struct Buf {
  void* p = nullptr;
  size_t bytes;
  explicit Buf(size_t n) : bytes(n) { cudaMalloc(&p, n ? n : 4); }
  Buf(const void* src, size_t n) : Buf(n) { cudaMemcpy(p, src, n, cudaMemcpyHostToDevice); }
  ~Buf() { cudaFree(p); }
  std::vector<float> get() const {
    std::vector<float> v(bytes / 4);
    cudaMemcpy(v.data(), p, bytes, cudaMemcpyDeviceToHost);
    return v;
  }
  float* f() const { return static_cast<float*>(p); }
};

std::vector<float> wave(size_t n, float a, float b) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(a * static_cast<float>(i) + b) * 1.5f;
  return v;
}

using Outputs = std::vector<std::vector<float>>;  // out, lse, dq, dk, dv

struct Inputs {
  Shape s;
  std::vector<float> q, k, v, dout, maskf;
  std::vector<int32_t> maski;
  explicit Inputs(const Shape& sh) : s(sh) {
    const size_t nq = size_t(s.B) * s.H * s.Tq * s.D, nk = size_t(s.B) * s.H * s.Tk * s.D;
    q = wave(nq, 0.37f, 0.1f), k = wave(nk, 0.23f, 0.7f), v = wave(nk, 0.11f, 1.3f), dout = wave(nq, 0.53f, 2.f);
    for (int i = 0; i < s.B * s.Tk; ++i) {
      const bool off = i % 5 == 2 || i % s.Tk == s.Tk - 1;
      maskf.push_back(off ? -INFINITY : -0.25f * static_cast<float>(i % 3));
      maski.push_back(off ? 0 : 1 + i % 2);
      if (off)  // excluded keys' rows hold garbage: never read
        for (int d = 0; d < s.D; ++d)
          for (int h = 0; h < s.H; ++h) {
            const size_t at = ((size_t(i / s.Tk) * s.H + h) * s.Tk + i % s.Tk) * s.D + d;
            if (s.mask) k[at] = NAN, v[at] = INFINITY;
          }
    }
  }
  const float* mf(const std::vector<float>& m) const { return s.mask == 1 ? m.data() : nullptr; }
  const int32_t* mi(const std::vector<int32_t>& m) const { return s.mask == 2 ? m.data() : nullptr; }

  Outputs cpu() const {
    const size_t nq = q.size(), nk = k.size(), nl = size_t(s.B) * s.H * s.Tq;
    Outputs o{std::vector<float>(nq), std::vector<float>(nl), std::vector<float>(nq), std::vector<float>(nk),
              std::vector<float>(nk)};
    cg::cpu::attention_forward(o[0].data(), o[1].data(), q.data(), k.data(), v.data(), mf(maskf), mi(maski), s.B, s.H,
                               s.Tq, s.Tk, s.D, s.causal);
    cg::cpu::attention_backward(o[2].data(), o[3].data(), o[4].data(), dout.data(), q.data(), k.data(), v.data(),
                                o[0].data(), o[1].data(), mf(maskf), mi(maski), s.B, s.H, s.Tq, s.Tk, s.D, s.causal);
    return o;
  }

  Outputs cuda(int order) const {
    cg::emu::set_schedule(order, 11);
    Buf dq_(q.data(), q.size() * 4), dk_(k.data(), k.size() * 4), dv_(v.data(), v.size() * 4),
        ddo(dout.data(), dout.size() * 4), dmf(maskf.data(), maskf.size() * 4), dmi(maski.data(), maski.size() * 4);
    Buf out(q.size() * 4), lse(size_t(s.B) * s.H * s.Tq * 4), gq(q.size() * 4), gk(k.size() * 4), gv(v.size() * 4);
    const float* mfp = s.mask == 1 ? dmf.f() : nullptr;
    const int32_t* mip = s.mask == 2 ? static_cast<const int32_t*>(dmi.p) : nullptr;
    cg::cuda::attention_forward(out.f(), lse.f(), dq_.f(), dk_.f(), dv_.f(), mfp, mip, s.B, s.H, s.Tq, s.Tk, s.D,
                                s.causal);
    cg::cuda::attention_backward(gq.f(), gk.f(), gv.f(), ddo.f(), dq_.f(), dk_.f(), dv_.f(), out.f(), lse.f(), mfp, mip,
                                 s.B, s.H, s.Tq, s.Tk, s.D, s.causal);
    cudaDeviceSynchronize();
    cg::emu::set_schedule(0, 0);
    return {out.get(), lse.get(), gq.get(), gk.get(), gv.get()};
  }
};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

// Largest |got - want| / (atol + rtol |want|); infinities must match exactly.
double worst(const std::vector<float>& got, const std::vector<float>& want, double atol, double rtol) {
  double w = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (got[i] == want[i]) continue;
    const double d = std::fabs(double(got[i]) - want[i]) / (atol + rtol * std::fabs(want[i]));
    w = std::isnan(d) ? 1e30 : std::max(w, d);
  }
  return w;
}

void check_precision(cg::MatmulPrecision prec, double atol, double rtol) {
  const Shape shapes[] = {
      {1, 2, 70, 45, 64, true, 2},   // Tq > Tk causal (queries 0..24 see no key), int mask, 2 query tiles
      {1, 1, 33, 97, 32, true, 1},   // Tq < Tk causal, float mask
      {2, 1, 40, 40, 128, false, 0},
      {1, 1, 17, 66, 7, false, 2},   // D % 4 != 0: unaligned rows, padded to 32
  };
  const cg::MatmulPrecision before = cg::matmul_precision();
  cg::set_matmul_precision(prec);
  try {
    for (const Shape& s : shapes) {
      Inputs in(s);
      const Outputs want = in.cpu();
      const Outputs first = in.cuda(0);
      for (int order : {1, 2}) {
        const Outputs again = in.cuda(order);
        for (size_t j = 0; j < first.size(); ++j) CHECK(same_bits(again[j], first[j]));
      }
      for (size_t j = 0; j < want.size(); ++j) {
        const double w = worst(first[j], want[j], atol, rtol);
        if (!(w <= 1)) {
          std::printf("# D=%d output %zu: %.3g of tolerance\n", s.D, j, w);
          CHECK(w <= 1);
        }
      }
    }
  } catch (...) {
    cg::set_matmul_precision(before);
    throw;
  }
  cg::set_matmul_precision(before);
}

}  // namespace

TEST(emu_attention_simt_same_bits_in_every_schedule_and_matches_cpu) {
  check_precision(cg::MatmulPrecision::Highest, 1e-5, 1e-4);
}

TEST(emu_attention_tf32_same_bits_in_every_schedule_and_close_to_cpu) {
  check_precision(cg::MatmulPrecision::High, 5e-3, 5e-3);
}

TEST(emu_attention_bf16_same_bits_in_every_schedule_and_close_to_cpu) {
  check_precision(cg::MatmulPrecision::Medium, 4e-2, 4e-2);
}

#endif  // CG_EMULATE_CUDA
