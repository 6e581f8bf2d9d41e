// Run-time SIMD detection (cpuid via the compiler builtins, which also check
// that the OS saves the wide registers) and the CUDAGRAD_SIMD override.
#include "cpu_features.h"

#include <atomic>
#include <cstdlib>

#include "error.h"

namespace cg {

namespace {

SimdLevel detect() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return SimdLevel::AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SimdLevel::AVX2;
#endif
  return SimdLevel::Scalar;
}

SimdLevel initial_level() {
  SimdLevel best = simd_detected();
  const char* env = std::getenv("CUDAGRAD_SIMD");
  if (!env || !*env) return best;
  SimdLevel want = parse_simd(env, "CUDAGRAD_SIMD");
  if (static_cast<int>(want) > static_cast<int>(best))
    throw_range_error("CUDAGRAD_SIMD=", env, ": this CPU supports at most ", simd_name(best));
  return want;
}

std::atomic<int>& level_slot() {
  static std::atomic<int> level{static_cast<int>(initial_level())};
  return level;
}

}  // namespace

SimdLevel simd_detected() {
  static const SimdLevel level = detect();
  return level;
}

SimdLevel simd_level() { return static_cast<SimdLevel>(level_slot().load(std::memory_order_relaxed)); }

void set_simd_level(SimdLevel level) {
  if (static_cast<int>(level) > static_cast<int>(simd_detected()))
    throw_range_error("cudagrad.setSimdLevel: '", simd_name(level), "' is not supported by this CPU (at most ",
                      simd_name(simd_detected()), ")");
  level_slot().store(static_cast<int>(level));
}

const char* simd_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::AVX512: return "avx512";
    case SimdLevel::AVX2: return "avx2";
    default: return "scalar";
  }
}

SimdLevel parse_simd(const std::string& name, const char* op) {
  if (name == "scalar") return SimdLevel::Scalar;
  if (name == "avx2") return SimdLevel::AVX2;
  if (name == "avx512") return SimdLevel::AVX512;
  throw_type_error(op, ": unknown SIMD level '", name, "' (expected 'scalar', 'avx2' or 'avx512')");
}

}  // namespace cg
