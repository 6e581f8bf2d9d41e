// The SIMD math (native/cpu/simd/math.inc) of every ISA this CPU has, against
// double-precision libm: exp and log within 4 float32 ulp (or 1e-45 absolute
// near zero), tanh and sigmoid within 5e-7 absolute, erfc within 5e-7
// absolute everywhere and 1.2e-5 relative down to 4e-37; specials exact.
#include <algorithm>
#include <cmath>
#include <cstdio>
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
  MapFn exp, log, tanh, sigmoid, erfc;
  float (*sum)(const float*, int);
};

std::vector<Isa> isas() {
  namespace s = cg::cpu::isa_scalar;
  std::vector<Isa> out = {{"scalar", cg::SimdLevel::Scalar, s::map_exp, s::map_log, s::map_tanh, s::map_sigmoid, s::map_erfc, s::sum}};
#if defined(__x86_64__)
  namespace a2 = cg::cpu::isa_avx2;
  namespace a5 = cg::cpu::isa_avx512;
  if (cg::simd_detected() >= cg::SimdLevel::AVX2)
    out.push_back({"avx2", cg::SimdLevel::AVX2, a2::map_exp, a2::map_log, a2::map_tanh, a2::map_sigmoid, a2::map_erfc, a2::sum});
  if (cg::simd_detected() >= cg::SimdLevel::AVX512)
    out.push_back({"avx512", cg::SimdLevel::AVX512, a5::map_exp, a5::map_log, a5::map_tanh, a5::map_sigmoid, a5::map_erfc, a5::sum});
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

enum class Err { Abs, Ulp, Rel };
const char* unit(Err e) { return e == Err::Ulp ? " ulp" : e == Err::Rel ? " relative" : ""; }

// Fails when, for some x, |got - ref| (Abs), |got - ref| / ulp(ref) (Ulp) or
// |got - ref| / |ref| (Rel) exceeds tol; returns the max error over x.
double check(const char* what, MapFn f, double (*ref)(double), const std::vector<float>& x, double tol, Err mode) {
  std::vector<float> y(x.size());
  f(x.data(), y.data(), static_cast<int>(x.size()));
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double want = ref(x[i]);
    double err = std::fabs(y[i] - want);
    if (mode == Err::Ulp) err = err <= 1e-45 ? 0 : err / ulp_of(want);
    if (mode == Err::Rel) err = err == 0 ? 0 : err / std::fabs(want);
    if (!(err <= tol)) {
      std::ostringstream os;
      os << what << "(" << x[i] << ") = " << y[i] << ", want " << want << " (error " << err << unit(mode) << ")";
      throw harness::Failure{os.str()};
    }
    worst = std::max(worst, err);
  }
  return worst;
}


double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

TEST(simd_exp_log_accuracy) {
  for (const Isa& isa : isas()) {
    check(isa.name, isa.exp, [](double v) { return std::exp(v); }, sweep(-110, 88.7, 200003), 4, Err::Ulp);
    check(isa.name, isa.exp, [](double v) { return std::exp(v); }, sweep(-1, 1, 20001), 2, Err::Ulp);
    check(isa.name, isa.log, [](double v) { return std::log(v); }, sweep(1e-6, 1e4, 200001), 4, Err::Ulp);
    check(isa.name, isa.log, [](double v) { return std::log(v); }, sweep(0.5, 2, 20001), 4, Err::Ulp);
    std::vector<float> denorm = {1e-40f, 3e-39f, 1.4e-45f, 1e-38f, 1.2e-38f};
    check(isa.name, isa.log, [](double v) { return std::log(v); }, denorm, 4, Err::Ulp);
  }
}

TEST(simd_tanh_sigmoid_accuracy) {
  for (const Isa& isa : isas()) {
    check(isa.name, isa.tanh, [](double v) { return std::tanh(v); }, sweep(-20, 20, 200001), 5e-7, Err::Abs);
    check(isa.name, isa.tanh, [](double v) { return std::tanh(v); }, sweep(-0.4, 0.4, 20001), 3, Err::Ulp);
    check(isa.name, isa.sigmoid, sigmoid_ref, sweep(-100, 100, 200001), 5e-7, Err::Abs);
  }
}

// erfc: the absolute error bounds erf = 1 - erfc and Phi; the relative error
// matters where erfc is tiny (the exact GELU's negative tail). Measured: 3.7e-7
// absolute (scalar; 3.2e-7 with FMA), from rounding in the degree-9
// polynomial; relative 1.2e-6 on [-2, 3] and 7.7e-6 on [-6, 9] (4e-6 with
// FMA), growing as z^2 * 1e-7 from the rounding of z^2 in exp(-z^2 + P):
// erfc(9) is 4e-37, and below 1e-37 the result is denormal, so only the
// absolute bound holds there.
TEST(simd_erfc_accuracy) {
  for (const Isa& isa : isas()) {
    double a = check(isa.name, isa.erfc, [](double v) { return std::erfc(v); }, sweep(-30, 30, 600001), 5e-7, Err::Abs);
    double r = check(isa.name, isa.erfc, [](double v) { return std::erfc(v); }, sweep(-6, 9, 300001), 1.2e-5, Err::Rel);
    double r2 = check(isa.name, isa.erfc, [](double v) { return std::erfc(v); }, sweep(-2, 3, 100001), 2e-6, Err::Rel);
    std::fprintf(stderr, "%s erfc: max abs error %.2e; max relative %.2e on [-6, 9], %.2e on [-2, 3]\n", isa.name, a, r, r2);
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
    isa.erfc(x, y, 5);
    CHECK(y[0] == 0.f && y[1] == 2.f && std::isnan(y[2]) && std::fabs(y[3] - 1.f) < 1e-7f);
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
