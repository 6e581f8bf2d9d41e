// Element types: float32 (storage and math), int32 (indices) and bfloat16
// (2-byte storage; kernels that take it compute in float32, see cudagrad.cast).
#pragma once

#include <cstddef>
#include <string>

#include "error.h"

namespace cg {

enum class DType : int { Float32 = 0, Int32 = 1, BFloat16 = 2 };

inline size_t dtype_size(DType d) { return d == DType::BFloat16 ? 2 : 4; }

inline const char* dtype_name(DType d) {
  return d == DType::Float32 ? "float32" : d == DType::Int32 ? "int32" : "bfloat16";
}

inline DType parse_dtype(const std::string& s, const char* op) {
  if (s == "float32") return DType::Float32;
  if (s == "int32") return DType::Int32;
  if (s == "bfloat16") return DType::BFloat16;
  throw_type_error(op, ": unknown dtype '", s, "' (expected 'float32', 'int32' or 'bfloat16')");
}

}  // namespace cg
