// Shape ops with materialised, contiguous outputs: permute (transpose), slice,
// concat, gather; backward of slice (zeros + copy) and gather (scatter-add).
// The copying kernels move raw elements of one width, so each comes twice:
// uint32_t for 4-byte dtypes (float32, int32) and uint16_t for 2-byte ones
// (bfloat16 bits); copies are exact. slice_backward is a copy too (zero bits
// are +0 in both float32 and bfloat16). gather_backward adds, so it is float32
// only: dispatch runs a bfloat16 dout through it as float32 (exact) and rounds
// the sums to bfloat16 once at the end (dispatch/shape.cpp).
//
//   permute_forward: out (shape) contiguous = inp read at `stride` per out dim
//                    (dispatch merges dims and drops size-1 dims; ndim >= 1)
//   slice_forward:   out (outer, count, inner) = inp (outer, len, inner)[:, start:start+count, :]
//   slice_backward:  dinp (outer, len, inner) = 0, with dout (outer, count, inner) at start
//   concat_forward:  out (outer, sum lens, inner) = inputs k (outer, lens[k], inner) side by side
//   gather_forward:  out (index shape) = inp at index along axis (torch.gather)
//   gather_backward: dinp (input shape) = 0, plus dout scatter-added at index along axis
//   gather_check:    bad (2, host) = first flat position of index (n) with a value outside
//                    [0, size) and that value, or {-1, 0} (CPU only, run before gather:
//                    nothing is written on bad input; CUDA checks inside the kernels)
// Gradients are activation gradients (=). gather_backward is deterministic:
// each dinp element is summed by one thread in index order.
#pragma once

#include <cstdint>

namespace cg {

constexpr int kMaxShapeDims = 16;  // most dims a permute or gather may have after merging

struct Strided {
  int ndim = 0;
  int64_t shape[kMaxShapeDims] = {};
  int64_t stride[kMaxShapeDims] = {};  // input element stride of each output dim
};

// index (ndim, shape `ishape`) into input (ndim, shape `xshape`) along `axis`.
struct GatherDims {
  int ndim = 0;
  int axis = 0;
  int64_t ishape[kMaxShapeDims] = {};
  int64_t xshape[kMaxShapeDims] = {};
};

}  // namespace cg

namespace cg::cpu {
// T: uint32_t or uint16_t (one definition each in cpu/shape.cpp).
template <typename T> void permute_forward(T* out, const T* inp, const Strided& s);
template <typename T> void slice_forward(T* out, const T* inp, int64_t outer, int64_t len, int64_t inner, int64_t start, int64_t count);
template <typename T> void slice_backward(T* dinp, const T* dout, int64_t outer, int64_t len, int64_t inner, int64_t start, int64_t count);
template <typename T> void concat_forward(T* out, const T* const* inps, const int64_t* lens, int64_t n, int64_t outer, int64_t inner);
template <typename T> void gather_forward(T* out, const T* inp, const int32_t* index, const GatherDims& g);
void gather_backward(float* dinp, const float* dout, const int32_t* index, const GatherDims& g);
void gather_check(const int32_t* index, int64_t n, int64_t size, int64_t* bad);
}  // namespace cg::cpu

namespace cg::cuda {
// T: uint32_t or uint16_t (one definition each in cuda/shape.cu).
template <typename T> void permute_forward(T* out, const T* inp, const Strided& s);
template <typename T> void slice_forward(T* out, const T* inp, int64_t outer, int64_t len, int64_t inner, int64_t start, int64_t count);
template <typename T> void slice_backward(T* dinp, const T* dout, int64_t outer, int64_t len, int64_t inner, int64_t start, int64_t count);
template <typename T> void concat_forward(T* out, const T* const* inps, const int64_t* lens, int64_t n, int64_t outer, int64_t inner);
template <typename T> void gather_forward(T* out, const T* inp, const int32_t* index, const GatherDims& g);
void gather_backward(float* dinp, const float* dout, const int32_t* index, const GatherDims& g);
// No gather_check on CUDA (it would read the index on the host): the gather
// kernels check every index themselves, record the first bad one they meet in
// the device error record (native/cuda/device_error.cuh, DeviceErrorOp::Gather),
// write 0 / skip it, and the host raises it as a RangeError at its next copy to
// host or synchronize.
}  // namespace cg::cuda
