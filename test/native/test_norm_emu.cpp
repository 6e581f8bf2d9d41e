// The normalisation-family CUDA kernels (softmax, layernorm, loss, embedding,
// optim) under every SIMT-emulator schedule (CUDAGRAD_EMULATE_CUDA builds
// only): blocks and the threads in each block run forward, reversed and
// shuffled, so a missing barrier or an order assumption shows up as a changed
// result. The deterministic kernels must give the same bits in every order,
// and agree with the CPU kernels to float tolerance.
#if defined(CG_EMULATE_CUDA)

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#include "../../native/ops/embedding.h"
#include "../../native/ops/layernorm.h"
#include "../../native/ops/loss.h"
#include "../../native/ops/optim.h"
#include "../../native/ops/softmax.h"
#include "harness.h"

namespace {

using Vec = std::vector<float>;

Vec rnd(size_t n, uint32_t seed, float lo, float hi) {
  Vec v(n);
  uint32_t s = seed * 2654435761u + 1;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = lo + (hi - lo) * static_cast<float>(s >> 8) / 16777216.f;
  }
  return v;
}

// Device copies of host arrays; released at scope end.
struct Dev {
  std::vector<void*> ptrs;
  ~Dev() {
    for (void* p : ptrs) cudaFree(p);
  }
  template <typename T>
  T* put(const std::vector<T>& h) {
    void* p = nullptr;
    cudaMalloc(&p, h.size() * sizeof(T) + 16);
    cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice);
    ptrs.push_back(p);
    return static_cast<T*>(p);
  }
  float* zeros(size_t n) { return put(Vec(n, 0.f)); }
};

template <typename T>
std::vector<T> get(const T* d, size_t n) {
  std::vector<T> h(n);
  cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost);
  return h;
}

// body() under the three schedules: the same bits every time; returns them.
Vec every_order(const std::function<Vec()>& body) {
  Vec first;
  for (int order : {0, 1, 2}) {
    cg::emu::set_schedule(order, 17 + order);
    Vec r = body();
    cg::emu::set_schedule(0, 0);
    CHECK(cudaGetLastError() == cudaSuccess);
    if (order == 0) first = r;
    else CHECK(r.size() == first.size() && std::memcmp(r.data(), first.data(), r.size() * sizeof(float)) == 0);
  }
  return first;
}

void check_close(const Vec& got, const Vec& want, float atol, float rtol) {
  CHECK_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    bool both_nan = std::isnan(got[i]) && std::isnan(want[i]);
    if (!(both_nan || got[i] == want[i] || std::fabs(got[i] - want[i]) <= atol + rtol * std::fabs(want[i]))) {
      CHECK_EQ(got[i], want[i]);
    }
  }
}

Vec concat(Vec a, const Vec& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST(norm_emu_softmax_same_bits_in_every_schedule) {
  struct Shape {
    int64_t outer, C, inner, tq;
  };
  // warp rows (scalar, float4), block rows (odd C, causal), column tiles
  for (Shape s : {Shape{5, 33, 1, 0}, Shape{4, 100, 1, 0}, Shape{3, 1500, 1, 0}, Shape{6, 1203, 1, 3}, Shape{3, 9, 70, 0}}) {
    size_t n = static_cast<size_t>(s.outer * s.C * s.inner);
    Vec x = rnd(n, static_cast<uint32_t>(n), -6, 6), d = rnd(n, 7, -1, 1);
    for (bool log : {false, true}) {
      Vec y(n), dx(n);
      cg::cpu::softmax_forward(y.data(), x.data(), s.outer, s.C, s.inner, s.tq, log);
      cg::cpu::softmax_backward(dx.data(), d.data(), y.data(), s.outer, s.C, s.inner, s.tq, log);
      Vec got = every_order([&] {
        Dev m;
        float* dy = m.zeros(n);
        float* ddx = m.zeros(n);
        cg::cuda::softmax_forward(dy, m.put(x), s.outer, s.C, s.inner, s.tq, log);
        cg::cuda::softmax_backward(ddx, m.put(d), m.put(y), s.outer, s.C, s.inner, s.tq, log);
        return concat(get(dy, n), get(ddx, n));
      });
      check_close(Vec(got.begin(), got.begin() + n), y, 2e-6f, 1e-5f);
      check_close(Vec(got.begin() + n, got.end()), dx, 1e-5f, 1e-4f);
    }
  }
}

TEST(norm_emu_layernorm_same_bits_in_every_schedule) {
  for (auto [N, C] : {std::pair<int64_t, int64_t>{70, 48}, {9, 33}, {9, 1100}}) {
    size_t n = static_cast<size_t>(N * C);
    Vec x = rnd(n, 3, -3, 3), d = rnd(n, 4, -1, 1), w = rnd(C, 5, 0.5f, 2), b = rnd(C, 6, -1, 1);
    Vec y(n), mean(N), rstd(N), dx(n), dw(C, 0.f), db(C, 0.f);
    cg::cpu::layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C, 1e-5f);
    cg::cpu::layernorm_backward(dx.data(), dw.data(), db.data(), d.data(), x.data(), w.data(), mean.data(), rstd.data(),
                                N, C);
    Vec got = every_order([&] {
      Dev m;
      float *dy = m.zeros(n), *dmean = m.zeros(N), *drstd = m.zeros(N), *ddx = m.zeros(n);
      float *ddw = m.zeros(C), *ddb = m.zeros(C);
      const float *dxin = m.put(x), *dwt = m.put(w);
      cg::cuda::layernorm_forward(dy, dmean, drstd, dxin, dwt, m.put(b), N, C, 1e-5f);
      cg::cuda::layernorm_backward(ddx, ddw, ddb, m.put(d), dxin, dwt, m.put(mean), m.put(rstd), N, C);
      return concat(concat(concat(get(dy, n), get(dmean, N)), concat(get(drstd, N), get(ddx, n))),
                    concat(get(ddw, C), get(ddb, C)));
    });
    Vec want = concat(concat(concat(y, mean), concat(rstd, dx)), concat(dw, db));
    check_close(got, want, 1e-4f, 1e-4f);
  }
}

TEST(norm_emu_crossentropy_same_bits_in_every_schedule) {
  for (auto [N, C] : {std::pair<int64_t, int64_t>{9, 33}, {5, 1500}}) {
    size_t n = static_cast<size_t>(N * C);
    Vec x = rnd(n, 8, -8, 8);
    std::vector<int32_t> t(N);
    for (int64_t r = 0; r < N; ++r) t[r] = r == 1 ? -100 : static_cast<int32_t>((r * 7919) % C);
    Vec losses(N), loss(1), dl(n), dloss{0.75f};
    cg::cpu::crossentropy_forward(losses.data(), x.data(), t.data(), N, C, -100);
    cg::cpu::crossentropy_reduce(loss.data(), losses.data(), t.data(), N, -100, true);
    cg::cpu::crossentropy_backward(dl.data(), dloss.data(), 0, x.data(), t.data(), N, C, -100, true);
    Vec got = every_order([&] {
      Dev m;
      float *dlosses = m.zeros(N), *dloss1 = m.zeros(1), *ddl = m.zeros(n);
      const float* dx = m.put(x);
      const int32_t* dt = m.put(t);
      cg::cuda::crossentropy_forward(dlosses, dx, dt, N, C, -100);
      cg::cuda::crossentropy_reduce(dloss1, dlosses, dt, N, -100, true);
      cg::cuda::crossentropy_backward(ddl, m.put(dloss), 0, dx, dt, N, C, -100, true);
      return concat(concat(get(dlosses, N), get(dloss1, 1)), get(ddl, n));
    });
    check_close(got, concat(concat(losses, loss), dl), 1e-5f, 1e-4f);
  }
}

TEST(norm_emu_embedding_and_sum_squares_same_bits_in_every_schedule) {
  const int64_t N = 300, V = 7, C = 33;
  Vec w = rnd(V * C, 9, -1, 1), d = rnd(N * C, 10, -1, 1);
  std::vector<int32_t> idx(N);
  for (int64_t i = 0; i < N; ++i) idx[i] = static_cast<int32_t>((i * i + 3) % V);
  Vec out(N * C), dw(V * C, 0.f);
  cg::cpu::embedding_forward(out.data(), idx.data(), w.data(), N, V, C);
  cg::cpu::embedding_backward(dw.data(), d.data(), idx.data(), N, V, C);
  Vec x = rnd(100003, 11, -3, 3);
  double ss = 0;
  cg::cpu::sum_squares(&ss, x.data(), static_cast<int64_t>(x.size()), false);
  Vec got = every_order([&] {
    Dev m;
    float *dout = m.zeros(N * C), *ddw = m.zeros(V * C);
    const int32_t* di = m.put(idx);
    cg::cuda::embedding_forward(dout, di, m.put(w), N, V, C);
    cg::cuda::embedding_backward(ddw, m.put(d), di, N, V, C);  // V small: row ownership, deterministic
    double* acc = reinterpret_cast<double*>(m.zeros(2));
    const float* dx = m.put(x);
    cg::cuda::sum_squares(acc, dx, static_cast<int64_t>(x.size()), false);
    cg::cuda::sum_squares(acc, dx, 1000, true);
    double total = get(acc, 1)[0];
    Vec r = concat(get(dout, N * C), get(ddw, V * C));
    float bits[2];
    std::memcpy(bits, &total, sizeof total);
    r.push_back(bits[0]);
    r.push_back(bits[1]);
    return r;
  });
  double total;
  std::memcpy(&total, got.data() + got.size() - 2, sizeof total);
  double first_k = 0;
  for (int i = 0; i < 1000; ++i) first_k += static_cast<double>(x[i]) * x[i];
  CHECK(std::fabs(total - (ss + first_k)) <= 1e-12 * (ss + first_k));
  got.resize(got.size() - 2);
  check_close(got, concat(out, dw), 1e-5f, 1e-5f);
}

// The batched sum of squares (two launches per 64 tensors) gives sum_squares's
// bits, tensor after tensor: 70 tensors (two chunks), empty ones, one over
// several blocks, float4 tails. Also the fused-clip multi-tensor Adam against
// clip_scale then adam_step per tensor.
TEST(norm_emu_multi_tensor_sum_squares_and_adam_same_bits_as_per_tensor) {
  std::vector<Vec> xs;
  for (int k = 0; k < 70; ++k) xs.push_back(rnd(k == 5 ? 20000 : (k % 9 == 4 ? 0 : 1 + (k * 37) % 133), 100 + k, -2, 2));
  Vec got = every_order([&] {
    Dev m;
    std::vector<const float*> ptrs;
    std::vector<int64_t> ns;
    for (const Vec& x : xs) {
      ptrs.push_back(m.put(x));
      ns.push_back(static_cast<int64_t>(x.size()));
    }
    double* one = reinterpret_cast<double*>(m.zeros(2));
    double* multi = reinterpret_cast<double*>(m.zeros(2));
    for (size_t k = 0; k < xs.size(); ++k) cg::cuda::sum_squares(one, ptrs[k], ns[k], k > 0);
    cg::cuda::sum_squares_multi(multi, ptrs.data(), ns.data(), static_cast<int64_t>(ptrs.size()));
    // Adam: tensors 0..29 (two launches of 24), gradients = xs, clipped to norm 1.
    const int T = 30;
    cg::AdamScalars s{0.9f, 0.99f, 0.1f, 0.01f, 1e-8f, 0.1f, 0.01f, 0.3f, 0.999f, true};
    std::vector<cg::AdamTensor> ts;
    std::vector<float*> p1, m1, v1;
    double* sub = reinterpret_cast<double*>(m.zeros(2));
    cg::cuda::sum_squares_multi(sub, ptrs.data(), ns.data(), T);
    for (int k = 0; k < T; ++k) {
      Vec p = rnd(xs[k].size(), 500 + k, -1, 1), mv = rnd(xs[k].size(), 600 + k, -0.1f, 0.1f), vv = rnd(xs[k].size(), 700 + k, 0, 0.1f);
      ts.push_back({m.put(p), ptrs[k], m.put(mv), m.put(vv), ns[k], s});
      p1.push_back(m.put(p));
      m1.push_back(m.put(mv));
      v1.push_back(m.put(vv));
      float* g = m.put(xs[k]);
      cg::cuda::clip_scale(g, ns[k], sub, 1.0);
      cg::cuda::adam_step(p1[k], g, m1[k], v1[k], ns[k], s);
    }
    cg::cuda::adam_step_multi(ts.data(), T, sub, 1.0);
    Vec r;
    for (double* d : {one, multi}) {
      Vec b = get(reinterpret_cast<float*>(d), 2);
      r.insert(r.end(), b.begin(), b.end());
    }
    for (int k = 0; k < T; ++k)
      for (float* a : {ts[k].param, ts[k].m, ts[k].v, p1[k], m1[k], v1[k]}) {
        Vec b = get(a, xs[k].size());
        r.insert(r.end(), b.begin(), b.end());
      }
    return r;
  });
  CHECK(std::memcmp(got.data(), got.data() + 2, 2 * sizeof(float)) == 0);  // multi == per tensor, bit for bit
  double total = 0, want = 0;
  std::memcpy(&total, got.data(), sizeof total);
  for (const Vec& x : xs)
    for (float v : x) want += static_cast<double>(v) * v;
  CHECK(std::fabs(total - want) <= 1e-12 * want);
  size_t at = 4;
  for (int k = 0; k < 30; ++k) {
    size_t n = xs[k].size();
    CHECK(std::memcmp(got.data() + at, got.data() + at + 3 * n, 3 * n * sizeof(float)) == 0);  // fused clip + Adam == clip_scale + adam_step
    at += 6 * n;
  }
}

#endif  // CG_EMULATE_CUDA
