// TensorImpl: a contiguous row-major view of a Storage with a shape and a dtype.
// Several TensorImpls may share one Storage (reshape, same-device to()). Each
// live TensorImpl counts as one tensor in cudagrad.memory().
#pragma once

#include <memory>
#include <vector>

#include "dtype.h"
#include "storage.h"

namespace cg {

using Shape = std::vector<int64_t>;

inline int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

class TensorImpl {
 public:
  TensorImpl(StoragePtr storage, Shape shape, DType dtype)
      : storage_(std::move(storage)), shape_(std::move(shape)), dtype_(dtype) {
    detail::live_tensors[static_cast<int>(storage_->device().type)]++;
  }
  ~TensorImpl() { detail::live_tensors[static_cast<int>(storage_->device().type)]--; }
  TensorImpl(const TensorImpl&) = delete;
  TensorImpl& operator=(const TensorImpl&) = delete;

  const Shape& shape() const { return shape_; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_->device(); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  const StoragePtr& storage() const { return storage_; }
  void* data() const { return storage_->data(); }
  template <typename T>
  T* data_as() const { return static_cast<T*>(storage_->data()); }

 private:
  StoragePtr storage_;
  Shape shape_;
  DType dtype_;
};

using TensorPtr = std::unique_ptr<TensorImpl>;

}  // namespace cg
