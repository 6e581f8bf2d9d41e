// SIMD level of this CPU, detected at run time so that one binary runs on any
// x86-64. CUDAGRAD_SIMD=scalar|avx2|avx512 forces a lower level (for tests and
// comparisons); asking for more than the CPU has is an error.
#pragma once

#include <string>

namespace cg {

enum class SimdLevel : int { Scalar = 0, AVX2 = 1, AVX512 = 2 };  // AVX2 means AVX2+FMA

SimdLevel simd_detected();
SimdLevel simd_level();  // the level the kernels use
void set_simd_level(SimdLevel level);  // throws RangeError above simd_detected()
const char* simd_name(SimdLevel level);
SimdLevel parse_simd(const std::string& name, const char* op);  // throws TypeError

}  // namespace cg
