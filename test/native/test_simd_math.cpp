// The SIMD math (native/cpu/simd/math.inc) of every ISA this CPU has, against
// double-precision libm: exp and log within 4 float32 ulp (or 1e-45 absolute
// near zero), tanh and sigmoid within 5e-7 absolute; specials exact.
#include <cmath>
#include <limits>
#include <vector>

#include "../../native/cpu/simd/simd.h"
#define CG_ISA_BODY "../../../test/native/simd_math_body.inc"
#include "../../native/cpu/simd/foreach_isa.h"
#include "../../native/runtime/cpu_features.h"
#include "harness.h"

namespace {

using MapFn = void (*)(const float*, float*, int);

struct Isa {
  const char* name;
  cg::SimdLevel level;
  MapFn exp, log, tanh, sigmoid;
  float (*sum)(const float*, int);
};

std::vector<Isa> isas() {
  namespace s = cg::cpu::isa_scalar;
  std::vector<Isa> out = {{"scalar", cg::SimdLevel::Scalar, s::map_exp, s::map_log, s::map_tanh, s::map_sigmoid, s::sum}};
#if defined(__x86_64__)
  namespace a2 = cg::cpu::isa_avx2;
  namespace a5 = cg::cpu::isa_avx512;
  if (cg::simd_detected() >= cg::SimdLevel::AVX2)
    out.push_back({"avx2", cg::SimdLevel::AVX2, a2::map_exp, a2::map_log, a2::map_tanh, a2::map_sigmoid, a2::sum});
  if (cg::simd_detected() >= cg::SimdLevel::AVX512)
    out.push_back({"avx512", cg::SimdLevel::AVX512, a5::map_exp, a5::map_log, a5::map_tanh, a5::map_sigmoid, a5::sum});
#endif
  return out;
}

// Inputs: a dense sweep of [lo, hi] plus an odd count so tails are exercised.
std::vector<float> sweep(double lo, double hi, int n) {
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = static_cast<float>(lo + (hi - lo) * i / (n - 1));
  return x;
}

double ulp_of(double v) {
  float f = static_cast<float>(std::fabs(v));
  if (f == 0.f || !std::isfinite(f)) return std::numeric_limits<float>::denorm_min();
  return std::nextafter(f, std::numeric_limits<float>::infinity()) - f;
}

// max over x of |got - ref| / ulp(ref) (relative mode) or |got - ref| (absolute).
void check(const char* what, MapFn f, double (*ref)(double), const std::vector<float>& x, double tol, bool in_ulps) {
  std::vector<float> y(x.size());
  f(x.data(), y.data(), static_cast<int>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    double want = ref(x[i]);
    double err = std::fabs(y[i] - want);
    if (in_ulps) err = err <= 1e-45 ? 0 : err / ulp_of(want);
    if (!(err <= tol)) {
      std::ostringstream os;
      os << what << "(" << x[i] << ") = " << y[i] << ", want " << want << " (error " << err << (in_ulps ? " ulp" : "") << ")";
      throw harness::Failure{os.str()};
    }
  }
}

double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

TEST(simd_exp_log_accuracy) {
  for (const Isa& isa : isas()) {
    check(isa.name, isa.exp, [](double v) { return std::exp(v); }, sweep(-110, 88.7, 200003), 4, true);
    check(isa.name, isa.exp, [](double v) { return std::exp(v); }, sweep(-1, 1, 20001), 2, true);
    check(isa.name, isa.log, [](double v) { return std::log(v); }, sweep(1e-6, 1e4, 200001), 4, true);
    check(isa.name, isa.log, [](double v) { return std::log(v); }, sweep(0.5, 2, 20001), 4, true);
    std::vector<float> denorm = {1e-40f, 3e-39f, 1.4e-45f, 1e-38f, 1.2e-38f};
    check(isa.name, isa.log, [](double v) { return std::log(v); }, denorm, 4, true);
  }
}

TEST(simd_tanh_sigmoid_accuracy) {
  for (const Isa& isa : isas()) {
    check(isa.name, isa.tanh, [](double v) { return std::tanh(v); }, sweep(-20, 20, 200001), 5e-7, false);
    check(isa.name, isa.tanh, [](double v) { return std::tanh(v); }, sweep(-0.4, 0.4, 20001), 3, true);
    check(isa.name, isa.sigmoid, sigmoid_ref, sweep(-100, 100, 200001), 5e-7, false);
  }
}

TEST(simd_math_specials) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (const Isa& isa : isas()) {
    float x[5] = {inf, -inf, nan, 0.f, -1.f}, y[5];
    isa.exp(x, y, 5);
    CHECK(y[0] == inf && y[1] == 0.f && std::isnan(y[2]) && y[3] == 1.f);
    isa.log(x, y, 5);
    CHECK(y[0] == inf && std::isnan(y[1]) && std::isnan(y[2]) && y[3] == -inf && std::isnan(y[4]));
    isa.tanh(x, y, 5);
    CHECK(y[0] == 1.f && y[1] == -1.f && std::isnan(y[2]) && y[3] == 0.f);
    isa.sigmoid(x, y, 5);
    CHECK(y[0] == 1.f && y[1] == 0.f && std::isnan(y[2]) && y[3] == 0.5f);
  }
}

TEST(simd_sum_with_tails) {
  for (const Isa& isa : isas()) {
    for (int n : {0, 1, 7, 8, 15, 16, 17, 33, 257}) {
      std::vector<float> x(n);
      for (int i = 0; i < n; ++i) x[i] = static_cast<float>(i + 1);
      CHECK_EQ(isa.sum(x.data(), n), static_cast<float>(n * (n + 1) / 2));
    }
  }
}
