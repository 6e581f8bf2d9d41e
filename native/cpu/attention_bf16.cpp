// CPU attention on bfloat16 tensors (ops/attention.h, *_bf16): the inputs
// converted to float32 copies (exact), the float32 kernels, and each result
// rounded to bf16 once at the end. lse stays float32.
#include <cstdint>
#include <vector>

#include "../ops/attention.h"
#include "../ops/cast.h"

namespace cg::cpu {

namespace {

std::vector<float> widen(const uint16_t* x, int64_t n) {
  std::vector<float> f(static_cast<size_t>(n));
  cast(f.data(), DType::Float32, x, DType::BFloat16, n);
  return f;
}

void narrow(uint16_t* out, const std::vector<float>& f) {
  cast(out, DType::BFloat16, f.data(), DType::Float32, static_cast<int64_t>(f.size()));
}

}  // namespace

void attention_forward_bf16(uint16_t* out, float* lse, const uint16_t* q, const uint16_t* k, const uint16_t* v,
                            const float* mask, const int32_t* mask_bool, int64_t B, int64_t H, int64_t Tq, int64_t Tk,
                            int64_t D, bool causal) {
  const int64_t nq = B * H * Tq * D, nk = B * H * Tk * D;
  std::vector<float> qf = widen(q, nq), kf = widen(k, nk), vf = widen(v, nk), of(static_cast<size_t>(nq));
  attention_forward(of.data(), lse, qf.data(), kf.data(), vf.data(), mask, mask_bool, B, H, Tq, Tk, D, causal);
  narrow(out, of);
}

void attention_backward_bf16(uint16_t* dq, uint16_t* dk, uint16_t* dv, const uint16_t* dout, const uint16_t* q,
                             const uint16_t* k, const uint16_t* v, const uint16_t* out, const float* lse,
                             const float* mask, const int32_t* mask_bool, int64_t B, int64_t H, int64_t Tq,
                             int64_t Tk, int64_t D, bool causal) {
  const int64_t nq = B * H * Tq * D, nk = B * H * Tk * D;
  std::vector<float> qf = widen(q, nq), kf = widen(k, nk), vf = widen(v, nk), dof = widen(dout, nq),
                     of = widen(out, nq);
  std::vector<float> dqf(static_cast<size_t>(nq)), dkf(static_cast<size_t>(nk)), dvf(static_cast<size_t>(nk));
  attention_backward(dqf.data(), dkf.data(), dvf.data(), dof.data(), qf.data(), kf.data(), vf.data(), of.data(), lse,
                     mask, mask_bool, B, H, Tq, Tk, D, causal);
  narrow(dq, dqf);
  narrow(dk, dkf);
  narrow(dv, dvf);
}

}  // namespace cg::cpu
