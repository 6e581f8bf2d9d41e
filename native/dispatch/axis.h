// Axis arguments for the reduce and shape ops: Python-style negative axes,
// range errors that name the op, the axis and the shape.
#pragma once

#include <cstdint>

#include "../runtime/error.h"
#include "../runtime/tensor.h"

namespace cg::dispatch {

// axis in [-rank, rank) -> [0, rank). A rank-0 tensor accepts -1 and 0 (as rank 1).
inline int64_t normalize_axis(const char* op, int64_t axis, const Shape& shape, const char* what = "axis") {
  const int64_t rank = static_cast<int64_t>(shape.size()), r = rank == 0 ? 1 : rank;
  if (axis < -r || axis >= r)
    throw_range_error(op, ": ", what, " ", axis, " is out of range for shape ", shape_str(shape), " (expected ", -r, " to ", r - 1, ")");
  return axis < 0 ? axis + r : axis;
}

// (outer, len, inner) of `shape` around `axis` (normalized; rank 0 gives 1, 1, 1).
struct AxisSplit {
  int64_t outer = 1, len = 1, inner = 1;
};

inline AxisSplit split_at(const Shape& shape, int64_t axis) {
  AxisSplit s;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (d < axis) s.outer *= shape[d];
    else if (d == axis) s.len = shape[d];
    else s.inner *= shape[d];
  }
  return s;
}

}  // namespace cg::dispatch
