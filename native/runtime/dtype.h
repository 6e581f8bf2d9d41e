// Element types. Storage and math are float32; indices are int32.
#pragma once

#include <cstddef>
#include <string>

#include "error.h"

namespace cg {

enum class DType : int { Float32 = 0, Int32 = 1 };

inline size_t dtype_size(DType) { return 4; }

inline const char* dtype_name(DType d) { return d == DType::Float32 ? "float32" : "int32"; }

inline DType parse_dtype(const std::string& s, const char* op) {
  if (s == "float32") return DType::Float32;
  if (s == "int32") return DType::Int32;
  throw_type_error(op, ": unknown dtype '", s, "' (expected 'float32' or 'int32')");
}

}  // namespace cg
