// Shape ops with materialised, contiguous outputs: permute (transpose), slice,
// concat, gather; backward of slice (zeros + copy) and gather (scatter-add).
// Elements are 4 bytes for every dtype (float32, int32): the copying kernels
// move raw 32-bit words; the backward kernels are float32.
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
void permute_forward(uint32_t* out, const uint32_t* inp, const Strided& s);
void slice_forward(uint32_t* out, const uint32_t* inp, int64_t outer, int64_t len, int64_t inner, int64_t start, int64_t count);
void slice_backward(float* dinp, const float* dout, int64_t outer, int64_t len, int64_t inner, int64_t start, int64_t count);
void concat_forward(uint32_t* out, const uint32_t* const* inps, const int64_t* lens, int64_t n, int64_t outer, int64_t inner);
void gather_forward(uint32_t* out, const uint32_t* inp, const int32_t* index, const GatherDims& g);
void gather_backward(float* dinp, const float* dout, const int32_t* index, const GatherDims& g);
void gather_check(const int32_t* index, int64_t n, int64_t size, int64_t* bad);
}  // namespace cg::cpu

namespace cg::cuda {
void permute_forward(uint32_t* out, const uint32_t* inp, const Strided& s);
void slice_forward(uint32_t* out, const uint32_t* inp, int64_t outer, int64_t len, int64_t inner, int64_t start, int64_t count);
void slice_backward(float* dinp, const float* dout, int64_t outer, int64_t len, int64_t inner, int64_t start, int64_t count);
void concat_forward(uint32_t* out, const uint32_t* const* inps, const int64_t* lens, int64_t n, int64_t outer, int64_t inner);
void gather_forward(uint32_t* out, const uint32_t* inp, const int32_t* index, const GatherDims& g);
void gather_backward(float* dinp, const float* dout, const int32_t* index, const GatherDims& g);
// No gather_check on CUDA (it would read the index on the host): the gather
// kernels check every index themselves, record the first bad one they meet in
// the device error record (native/cuda/device_error.cuh, DeviceErrorOp::Gather),
// write 0 / skip it, and the host raises it as a RangeError at its next copy to
// host or synchronize.
}  // namespace cg::cuda
