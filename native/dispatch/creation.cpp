// Creation and movement dispatch (dispatch/creation.h).
#include "creation.h"

#include <cmath>
#include <cstring>

#include "../ops/cast.h"
#include "../ops/fill.h"
#include "../ops/random.h"
#include "../runtime/error.h"
#include "../runtime/gpu.h"
#include "check.h"
#include "on_device.h"

namespace cg::dispatch {

TensorPtr empty(const char* op, const Shape& shape, DType dtype, Device device) {
  int64_t n = check_shape(op, shape);
  check_device(op, device);
  std::shared_ptr<Storage> storage;
  try {
    storage = std::make_shared<Storage>(device, static_cast<size_t>(n) * dtype_size(dtype));
  } catch (const Error& e) {
    // The allocators say "cudagrad: out of memory ..."; name the op that asked, with the shape.
    std::string msg = e.what();
    if (msg.rfind("cudagrad: ", 0) == 0) msg = msg.substr(10);
    throw Error(e.kind(), cat(op, ": ", msg, " for a tensor of shape ", shape_str(shape)));
  }
  return std::make_unique<TensorImpl>(std::move(storage), shape, dtype);
}

TensorPtr from_host(const char* op, const void* src, size_t src_bytes, const Shape& shape, DType dtype, Device device) {
  int64_t n = check_shape(op, shape);
  size_t want = static_cast<size_t>(n) * dtype_size(dtype);
  if (src_bytes != want)
    throw_range_error(op, ": data has ", src_bytes / dtype_size(dtype), " elements but shape ", shape_str(shape),
                      " needs ", n);
  TensorPtr t = empty(op, shape, dtype, device);
  if (want == 0) return t;
  if (device.is_cpu()) std::memcpy(t->data(), src, want);
  else gpu::copy_h2d(device.index, t->data(), src, want);
  return t;
}

TensorPtr full(const char* op, const Shape& shape, DType dtype, double value, Device device) {
  check_value(op, value, dtype, "fill value");
  TensorPtr t = empty(op, shape, dtype, device);
  CG_ON_DEVICE(device, fill, t->data(), t->numel(), dtype, value);
  return t;
}

TensorPtr arange(const char* op, double start, double step, int64_t n, DType dtype, Device device) {
  if (n < 0) throw_range_error(op, ": negative length ", n);
  if (n > 0) {
    check_value(op, start, dtype, "start");
    check_value(op, start + static_cast<double>(n - 1) * step, dtype, "last value");
  }
  TensorPtr t = empty(op, {n}, dtype, device);
  CG_ON_DEVICE(device, arange, t->data(), n, dtype, start, step);
  return t;
}

namespace {
void check_params(const char* op, double a, double b, const char* na, const char* nb) {
  check_value(op, a, DType::Float32, na);
  check_value(op, b, DType::Float32, nb);
  if (!std::isfinite(a) || !std::isfinite(b)) throw_range_error(op, ": ", na, " and ", nb, " must be finite, got ", a, " and ", b);
}
}  // namespace

TensorPtr uniform(const char* op, const Shape& shape, rng::State rs, double low, double high, Device device) {
  check_params(op, low, high, "low", "high");
  if (!(low <= high)) throw_range_error(op, ": low ", low, " is greater than high ", high);
  TensorPtr t = empty(op, shape, DType::Float32, device);
  CG_ON_DEVICE(device, uniform, t->data_as<float>(), t->numel(), rs.seed, rs.offset, static_cast<float>(low),
               static_cast<float>(high));
  return t;
}

TensorPtr normal(const char* op, const Shape& shape, rng::State rs, double mean, double stdev, Device device) {
  check_params(op, mean, stdev, "mean", "std");
  if (stdev < 0) throw_range_error(op, ": std ", stdev, " is negative");
  TensorPtr t = empty(op, shape, DType::Float32, device);
  CG_ON_DEVICE(device, normal, t->data_as<float>(), t->numel(), rs.seed, rs.offset, static_cast<float>(mean),
               static_cast<float>(stdev));
  return t;
}

TensorPtr to_device(const char* op, const TensorImpl& t, Device device) {
  check_device(op, device);
  if (t.device() == device) return std::make_unique<TensorImpl>(t.storage(), t.shape(), t.dtype());
  TensorPtr out = empty(op, t.shape(), t.dtype(), device);
  size_t bytes = t.nbytes();
  if (t.device().is_cpu()) {
    gpu::copy_h2d(device.index, out->data(), t.data(), bytes);
  } else if (device.is_cpu()) {
    gpu::copy_d2h(t.device().index, out->data(), t.data(), bytes);
  } else {
    // Between two GPUs: through the host, ordered after both devices' streams.
    std::vector<char> host(bytes);
    gpu::copy_d2h(t.device().index, host.data(), t.data(), bytes);
    gpu::copy_h2d(device.index, out->data(), host.data(), bytes);
  }
  return out;
}

TensorPtr clone(const char* op, const TensorImpl& t) {
  TensorPtr out = empty(op, t.shape(), t.dtype(), t.device());
  if (t.nbytes() == 0) return out;
  if (t.device().is_cpu()) std::memcpy(out->data(), t.data(), t.nbytes());
  else gpu::copy_d2d(t.device().index, out->data(), t.data(), t.nbytes());
  return out;
}

TensorPtr cast(const char* op, const TensorImpl& t, DType to) {
  if (t.dtype() == to) return clone(op, t);
  TensorPtr out = empty(op, t.shape(), to, t.device());
  CG_ON_DEVICE(t.device(), cast, out->data(), to, t.data(), t.dtype(), t.numel());
  return out;
}

TensorPtr reshape(const char* op, const TensorImpl& t, const Shape& shape) {
  int64_t n = check_shape(op, shape);
  if (n != t.numel())
    throw_range_error(op, ": cannot reshape tensor of shape ", shape_str(t.shape()), " (", t.numel(),
                      " elements) to shape ", shape_str(shape), " (", n, " elements)");
  return std::make_unique<TensorImpl>(t.storage(), shape, t.dtype());
}

void copy_to_host(const char* op, const TensorImpl& t, void* dst, size_t dst_bytes) {
  if (dst_bytes != t.nbytes())
    throw_range_error(op, ": destination has ", dst_bytes, " bytes, tensor of shape ", shape_str(t.shape()), " has ",
                      t.nbytes());
  if (dst_bytes == 0) return;
  if (t.device().is_cpu()) std::memcpy(dst, t.data(), dst_bytes);
  else gpu::copy_d2h(t.device().index, dst, t.data(), dst_bytes);
}

}  // namespace cg::dispatch
