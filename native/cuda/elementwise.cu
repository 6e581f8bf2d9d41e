// CUDA elementwise ops (ops/elementwise.h). Three kernel shapes, each
// templated on a functor holding the op (forward, gradient, scalar, unary):
//   map_kernel    contiguous inputs (and single-element operands, loaded once):
//                 float4 grid-stride loop + scalar tail. Same-shape binary, the
//                 scalar variants, unary, clamp, and every backward of those.
//   rows4_kernel  the merged 2-D broadcast (rows, cols) with cols % 4 == 0 and
//                 each operand's inner stride 0 or 1: float4 over the row, a
//                 stride-0 operand one value per row. Bias-like (x + b over the
//                 last dim) and column (x * s[:, None]) broadcasts.
//   bcast_kernel  any merged broadcast (<= kMaxBcastDims dims): the operand
//                 offsets of each output element from its index and the strides.
// Indices are 32-bit when the output has < 2^31 elements (cheaper division).
// Formulas as the CPU kernels (same operation order; pow's PyTorch shortcuts and
// gradient zeros); powf/expf/logf are CUDA's (a few ulp, the tests allow 16), sqrtf and
// division IEEE (no fast-math).
#include "../ops/elementwise.h"
#include "bcast.cuh"
#include "launch.h"

#include <climits>

namespace cg::cuda {

// --- kernels

namespace {

constexpr int kThreads = 256;

template <Binary OP>
__device__ __forceinline__ float bin(float x, float y) {
  if constexpr (OP == Binary::Add) return x + y;
  else if constexpr (OP == Binary::Sub) return x - y;
  else if constexpr (OP == Binary::Mul) return x * y;
  else if constexpr (OP == Binary::Div) return x / y;
  else return powf(x, y);
}

// PyTorch: d/da = 0 where the exponent is 0; d/db = 0 where a == 0 and the exponent >= 0.
__device__ __forceinline__ float pow_grad_base(float d, float x, float e) { return e == 0.f ? 0.f : d * e * powf(x, e - 1.f); }
__device__ __forceinline__ float pow_grad_exp(float d, float x, float e) {
  return (x == 0.f && e >= 0.f) ? 0.f : d * powf(x, e) * logf(x);
}

template <Binary OP>
__device__ __forceinline__ float bin_grad(float d, float x, float y, int which) {
  if constexpr (OP == Binary::Add) return d;
  else if constexpr (OP == Binary::Sub) return which ? -d : d;
  else if constexpr (OP == Binary::Mul) return which ? d * x : d * y;
  else if constexpr (OP == Binary::Div) return which ? -(d * x) / (y * y) : d / y;
  else return which ? pow_grad_exp(d, x, y) : pow_grad_base(d, x, y);
}

// Functors take three values; kGrad says whether the first is dout (broadcast kernels).
template <Binary OP>
struct Fwd {
  static constexpr bool kGrad = false;
  __device__ float operator()(float x, float y, float) const { return bin<OP>(x, y); }
};

template <Binary OP>
struct Grad {
  static constexpr bool kGrad = true;
  int which;
  __device__ float operator()(float d, float x, float y) const { return bin_grad<OP>(d, x, y, which); }
};

template <Binary OP>
struct ScalarFwd {  // a op s (pow has its own functor)
  float s;
  __device__ float operator()(float x, float, float) const { return bin<OP>(x, s); }
};

// Tensor-scalar pow as PyTorch: exponents 0, 1, 2, 3, 0.5, -0.5, -1, -2 are exact shortcuts (K 0..7), others powf (K 8).
template <int K>
struct PowScalar {
  float s;
  __device__ float operator()(float x, float, float) const {
    if constexpr (K == 0) return 1.f;
    else if constexpr (K == 1) return x;
    else if constexpr (K == 2) return x * x;
    else if constexpr (K == 3) return x * x * x;
    else if constexpr (K == 4) return sqrtf(x);
    else if constexpr (K == 5) return 1.f / sqrtf(x);
    else if constexpr (K == 6) return 1.f / x;
    else if constexpr (K == 7) return 1.f / (x * x);
    else return powf(x, s);
  }
};

struct ScalarGrad {  // (dout, a) -> dinp for a op s
  Binary op;
  float s;
  __device__ float operator()(float d, float x, float) const {
    switch (op) {
      case Binary::Add:
      case Binary::Sub: return d;
      case Binary::Mul: return d * s;
      case Binary::Div: return d / s;
      default:
        if (s == 0.f) return 0.f;
        if (s == 1.f) return d;
        if (s == 2.f) return d * (x + x);
        return pow_grad_base(d, x, s);
    }
  }
};

template <Unary OP>
struct UnaryFwd {
  __device__ float operator()(float x, float, float) const {
    if constexpr (OP == Unary::Neg) return -x;
    else if constexpr (OP == Unary::Exp) return expf(x);
    else if constexpr (OP == Unary::Log) return logf(x);
    else return sqrtf(x);
  }
};

// (dout, v) -> dinp where v is the input, or the saved output when kFromOut.
template <Unary OP, bool kFromOut>
struct UnaryGrad {
  __device__ float operator()(float d, float v, float) const {
    if constexpr (OP == Unary::Neg) return -d;
    else if constexpr (OP == Unary::Exp) return d * (kFromOut ? v : expf(v));
    else if constexpr (OP == Unary::Log) return d / v;
    else {
      float y = kFromOut ? v : sqrtf(v);
      return d / (y + y);
    }
  }
};

struct ClampFwd {  // NaN stays NaN; lo > hi gives hi
  float lo, hi;
  __device__ float operator()(float x, float, float) const { return x != x ? x : fminf(hi, fmaxf(lo, x)); }
};

struct ClampGrad {  // dout where lo <= x <= hi (NaN: 0)
  float lo, hi;
  __device__ float operator()(float d, float x, float) const { return (x >= lo && x <= hi) ? d : 0.f; }
};

__device__ __forceinline__ float4 splat(float v) { return make_float4(v, v, v, v); }

template <class F>
__device__ __forceinline__ float4 apply4(const F& f, float4 p, float4 q, float4 r) {
  return make_float4(f(p.x, q.x, r.x), f(p.y, q.y, r.y), f(p.z, q.z, r.z), f(p.w, q.w, r.w));
}

// out[i] = f(p0[i], p1[i], p2[i]) for the first NIN inputs; input k with bit k of
// `one` set has a single element, read once (a broadcast scalar operand).
template <class F, int NIN>
__global__ void map_kernel(float* out, const float* p0, const float* p1, const float* p2, unsigned one, int64_t n, F f) {
  const float* p[3] = {p0, p1, p2};
  float s[3] = {0.f, 0.f, 0.f};
  for (int k = 0; k < NIN; ++k)
    if (one >> k & 1u) s[k] = __ldg(p[k]);
  const int64_t stride = (int64_t)gridDim.x * blockDim.x, n4 = n / 4;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n4; i += stride) {
    float4 v[3] = {splat(s[0]), splat(s[1]), splat(s[2])};
    for (int k = 0; k < NIN; ++k)
      if (!(one >> k & 1u)) v[k] = reinterpret_cast<const float4*>(p[k])[i];
    reinterpret_cast<float4*>(out)[i] = apply4(f, v[0], v[1], v[2]);
  }
  for (int64_t i = n4 * 4 + blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride) {
    float v[3] = {s[0], s[1], s[2]};
    for (int k = 0; k < NIN; ++k)
      if (!(one >> k & 1u)) v[k] = p[k][i];
    out[i] = f(v[0], v[1], v[2]);
  }
}

template <class F>
__device__ __forceinline__ float call(const F& f, float d, float x, float y) {
  if constexpr (F::kGrad) return f(d, x, y);
  else return f(x, y, 0.f);
}

// out (rows, 4 * c4) = f(dout, a, b): an operand with inner stride 1 is read as
// float4 at row * s0 + col (s0 % 4 == 0), one with inner stride 0 as row * s0.
template <class F, typename I>
__global__ void rows4_kernel(float* out, const float* dout, const float* a, I as0, int as1, const float* b, I bs0, int bs1, I rows,
                             I c4, F f) {
  const I n4 = rows * c4, stride = (I)gridDim.x * blockDim.x;
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
    const I r = i / c4, c = (i - r * c4) * 4;
    float4 x = as1 ? *reinterpret_cast<const float4*>(a + r * as0 + c) : splat(__ldg(a + r * as0));
    float4 y = bs1 ? *reinterpret_cast<const float4*>(b + r * bs0 + c) : splat(__ldg(b + r * bs0));
    float4 d = F::kGrad ? reinterpret_cast<const float4*>(dout)[i] : splat(0.f);
    reinterpret_cast<float4*>(out)[i] = make_float4(call(f, d.x, x.x, y.x), call(f, d.y, x.y, y.y), call(f, d.z, x.z, y.z),
                                                    call(f, d.w, x.w, y.w));
  }
}

// out (bc.shape) = f(dout, a, b) for any merged broadcast.
template <class F, typename I>
__global__ void bcast_kernel(float* out, const float* dout, const float* a, const float* b, Bcast bc, I n, F f) {
  const I stride = (I)gridDim.x * blockDim.x;
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    I ao, bo;
    bcast_offsets(bc, i, ao, bo);
    out[i] = call(f, F::kGrad ? dout[i] : 0.f, a[ao], b[bo]);
  }
}

}  // namespace

// --- launchers

namespace {

template <class F, int NIN>
void map(const char* op, float* out, const float* p0, const float* p1, const float* p2, unsigned one, int64_t n, F f) {
  if (n <= 0) return;
  auto kernel = &map_kernel<F, NIN>;
  LAUNCH(kernel, grid_for((n + 3) / 4, kThreads), kThreads, 0, stream())(out, p0, p1, p2, one, n, f);
  gpu::check_last_launch(op);
}

template <class F, typename I>
void broadcast(const char* op, float* out, const float* dout, const float* a, const float* b, const Bcast& bc, int64_t n, F f) {
  const int nd = bc.ndim;
  const int64_t cols = bc.shape[nd - 1], as1 = bc.astride[nd - 1], bs1 = bc.bstride[nd - 1];
  if (nd == 2 && cols % 4 == 0 && (as1 == 0 || bc.astride[0] % 4 == 0) && (bs1 == 0 || bc.bstride[0] % 4 == 0)) {
    auto kernel = &rows4_kernel<F, I>;
    LAUNCH(kernel, grid_for(n / 4, kThreads), kThreads, 0, stream())(out, dout, a, (I)bc.astride[0], (int)as1, b, (I)bc.bstride[0],
                                                                     (int)bs1, (I)bc.shape[0], (I)(cols / 4), f);
  } else {
    auto kernel = &bcast_kernel<F, I>;
    LAUNCH(kernel, grid_for(n, kThreads), kThreads, 0, stream())(out, dout, a, b, bc, (I)n, f);
  }
  gpu::check_last_launch(op);
}

// Same-shape or single-element operands: the flat map; anything else: broadcast kernels.
template <class F>
void binary(const char* op, float* out, const float* dout, const float* a, const float* b, const Bcast& bc, F f) {
  const int64_t n = bcast_numel(bc);
  if (n <= 0) return;
  if (bc.ndim == 1) {
    unsigned one = (bc.astride[0] == 0 ? 1u : 0u) | (bc.bstride[0] == 0 ? 2u : 0u);
    if (F::kGrad) map<F, 3>(op, out, dout, a, b, one << 1, n, f);
    else map<F, 2>(op, out, a, b, nullptr, one, n, f);
    return;
  }
  if (n <= INT_MAX) broadcast<F, uint32_t>(op, out, dout, a, b, bc, n, f);
  else broadcast<F, int64_t>(op, out, dout, a, b, bc, n, f);
}

}  // namespace

void binary_forward(float* out, const float* a, const float* b, const Bcast& bc, Binary op) {
  const char* o = "binary forward";
  switch (op) {
    case Binary::Add: binary(o, out, nullptr, a, b, bc, Fwd<Binary::Add>{}); break;
    case Binary::Sub: binary(o, out, nullptr, a, b, bc, Fwd<Binary::Sub>{}); break;
    case Binary::Mul: binary(o, out, nullptr, a, b, bc, Fwd<Binary::Mul>{}); break;
    case Binary::Div: binary(o, out, nullptr, a, b, bc, Fwd<Binary::Div>{}); break;
    default: binary(o, out, nullptr, a, b, bc, Fwd<Binary::Pow>{}); break;
  }
}

void binary_backward(float* dinp, const float* dout, const float* a, const float* b, const Bcast& bc, Binary op, int which) {
  const char* o = "binary backward";
  switch (op) {
    case Binary::Add: binary(o, dinp, dout, a, b, bc, Grad<Binary::Add>{which}); break;
    case Binary::Sub: binary(o, dinp, dout, a, b, bc, Grad<Binary::Sub>{which}); break;
    case Binary::Mul: binary(o, dinp, dout, a, b, bc, Grad<Binary::Mul>{which}); break;
    case Binary::Div: binary(o, dinp, dout, a, b, bc, Grad<Binary::Div>{which}); break;
    default: binary(o, dinp, dout, a, b, bc, Grad<Binary::Pow>{which}); break;
  }
}

void binary_scalar_forward(float* out, const float* a, float s, int64_t n, Binary op) {
  const char* o = "binary scalar forward";
  switch (op) {
    case Binary::Add: map<ScalarFwd<Binary::Add>, 1>(o, out, a, nullptr, nullptr, 0, n, {s}); return;
    case Binary::Sub: map<ScalarFwd<Binary::Sub>, 1>(o, out, a, nullptr, nullptr, 0, n, {s}); return;
    case Binary::Mul: map<ScalarFwd<Binary::Mul>, 1>(o, out, a, nullptr, nullptr, 0, n, {s}); return;
    case Binary::Div: map<ScalarFwd<Binary::Div>, 1>(o, out, a, nullptr, nullptr, 0, n, {s}); return;
    default: break;
  }
  if (s == 0.f) map<PowScalar<0>, 0>(o, out, nullptr, nullptr, nullptr, 0, n, {s});
  else if (s == 1.f) map<PowScalar<1>, 1>(o, out, a, nullptr, nullptr, 0, n, {s});
  else if (s == 2.f) map<PowScalar<2>, 1>(o, out, a, nullptr, nullptr, 0, n, {s});
  else if (s == 3.f) map<PowScalar<3>, 1>(o, out, a, nullptr, nullptr, 0, n, {s});
  else if (s == 0.5f) map<PowScalar<4>, 1>(o, out, a, nullptr, nullptr, 0, n, {s});
  else if (s == -0.5f) map<PowScalar<5>, 1>(o, out, a, nullptr, nullptr, 0, n, {s});
  else if (s == -1.f) map<PowScalar<6>, 1>(o, out, a, nullptr, nullptr, 0, n, {s});
  else if (s == -2.f) map<PowScalar<7>, 1>(o, out, a, nullptr, nullptr, 0, n, {s});
  else map<PowScalar<8>, 1>(o, out, a, nullptr, nullptr, 0, n, {s});
}

void binary_scalar_backward(float* dinp, const float* dout, const float* a, float s, int64_t n, Binary op) {
  map<ScalarGrad, 2>("binary scalar backward", dinp, dout, a, nullptr, 0, n, ScalarGrad{op, s});
}

void unary_forward(float* out, const float* inp, int64_t n, Unary op) {
  const char* o = "unary forward";
  switch (op) {
    case Unary::Neg: map<UnaryFwd<Unary::Neg>, 1>(o, out, inp, nullptr, nullptr, 0, n, {}); break;
    case Unary::Exp: map<UnaryFwd<Unary::Exp>, 1>(o, out, inp, nullptr, nullptr, 0, n, {}); break;
    case Unary::Log: map<UnaryFwd<Unary::Log>, 1>(o, out, inp, nullptr, nullptr, 0, n, {}); break;
    default: map<UnaryFwd<Unary::Sqrt>, 1>(o, out, inp, nullptr, nullptr, 0, n, {}); break;
  }
}

void unary_backward(float* dinp, const float* dout, const float* inp, const float* out, int64_t n, Unary op) {
  const char* o = "unary backward";
  switch (op) {
    case Unary::Neg: map<UnaryGrad<Unary::Neg, false>, 1>(o, dinp, dout, nullptr, nullptr, 0, n, {}); break;
    case Unary::Log: map<UnaryGrad<Unary::Log, false>, 2>(o, dinp, dout, inp, nullptr, 0, n, {}); break;
    case Unary::Exp:
      if (out) map<UnaryGrad<Unary::Exp, true>, 2>(o, dinp, dout, out, nullptr, 0, n, {});
      else map<UnaryGrad<Unary::Exp, false>, 2>(o, dinp, dout, inp, nullptr, 0, n, {});
      break;
    default:
      if (out) map<UnaryGrad<Unary::Sqrt, true>, 2>(o, dinp, dout, out, nullptr, 0, n, {});
      else map<UnaryGrad<Unary::Sqrt, false>, 2>(o, dinp, dout, inp, nullptr, 0, n, {});
      break;
  }
}

void clamp_forward(float* out, const float* inp, int64_t n, float lo, float hi) {
  map<ClampFwd, 1>("clamp forward", out, inp, nullptr, nullptr, 0, n, ClampFwd{lo, hi});
}

void clamp_backward(float* dinp, const float* dout, const float* inp, int64_t n, float lo, float hi) {
  map<ClampGrad, 2>("clamp backward", dinp, dout, inp, nullptr, 0, n, ClampGrad{lo, hi});
}

}  // namespace cg::cuda
