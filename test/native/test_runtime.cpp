// Thread pool, dispatch checks and memory counters.
#include <atomic>
#include <cstdlib>
#include <vector>

#include "../../native/dispatch/check.h"
#include "../../native/dispatch/creation.h"
#include "../../native/runtime/error.h"
#include "../../native/runtime/thread_pool.h"
#include "harness.h"

using cg::ErrorKind;

TEST(parallel_for_covers_each_index_once) {
  for (int threads : {1, 2, 3, 5}) {
    cg::set_num_threads(threads);
    for (int64_t n : {0, 1, 7, 33, 257, 10000}) {
      for (int64_t grain : {1, 4, 1000}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        cg::parallel_for(n, grain, [&](int64_t lo, int64_t hi) {
          for (int64_t i = lo; i < hi; ++i) hits[static_cast<size_t>(i)]++;
        });
        for (int64_t i = 0; i < n; ++i) CHECK_EQ(hits[static_cast<size_t>(i)].load(), 1);
      }
    }
  }
  cg::set_num_threads(2);
}

TEST(parallel_for_rethrows_and_recovers) {
  cg::set_num_threads(3);
  CHECK_THROWS(cg::parallel_for(300, 1, [](int64_t lo, int64_t) {
                 if (lo > 0) cg::throw_range_error("chunk failed at ", lo);
               }),
               ErrorKind::RangeError, "chunk failed");
  std::atomic<int64_t> sum{0};
  cg::parallel_for(300, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) sum += i;
  });
  CHECK_EQ(sum.load(), int64_t(300 * 299 / 2));
  cg::set_num_threads(2);
}

TEST(parallel_for_nested_runs_inline) {
  cg::set_num_threads(2);
  std::atomic<int64_t> count{0};
  cg::parallel_for(4, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      cg::parallel_for(10, 1, [&](int64_t a, int64_t b) { count += b - a; });
  });
  CHECK_EQ(count.load(), int64_t(40));
}

TEST(set_num_threads_rejects_bad_counts) {
  CHECK_THROWS(cg::set_num_threads(0), ErrorKind::RangeError, "setNumThreads");
  CHECK_THROWS(cg::set_num_threads(5000), ErrorKind::RangeError, "setNumThreads");
}

TEST(check_shape_errors) {
  CHECK_EQ(cg::dispatch::check_shape("op", {2, 3}), int64_t(6));
  CHECK_EQ(cg::dispatch::check_shape("op", {}), int64_t(1));
  CHECK_EQ(cg::dispatch::check_shape("op", {4, 0, 1LL << 60}), int64_t(0));
  CHECK_THROWS(cg::dispatch::check_shape("op", {2, -1}), ErrorKind::RangeError, "op: shape [2, -1] has a negative size at dim 1");
  CHECK_THROWS(cg::dispatch::check_shape("op", {1LL << 30, 1LL << 30}), ErrorKind::RangeError, "more than 2^53");
}

TEST(check_value_errors) {
  cg::dispatch::check_value("op", 3, cg::DType::Int32, "v");
  cg::dispatch::check_value("op", 1.0 / 0.0, cg::DType::Float32, "v");  // inf is a float32 value
  CHECK_THROWS(cg::dispatch::check_value("op", 1.5, cg::DType::Int32, "v"), ErrorKind::RangeError, "not an int32");
  CHECK_THROWS(cg::dispatch::check_value("op", 3e9, cg::DType::Int32, "v"), ErrorKind::RangeError, "not an int32");
  CHECK_THROWS(cg::dispatch::check_value("op", 1e39, cg::DType::Float32, "v"), ErrorKind::RangeError, "overflows float32");
}

static void no_release(void*) {}

TEST(check_same_device_names_devices_and_shapes) {
  // A tensor claiming cuda:0 over host memory: only its metadata is read here.
  static float fake[6];
  auto gpu_storage = std::make_shared<cg::Storage>(cg::Device{cg::DeviceType::CUDA, 0}, fake, sizeof fake, no_release);
  cg::TensorImpl on_gpu(gpu_storage, {2, 3}, cg::DType::Float32);
  cg::TensorPtr on_cpu = cg::dispatch::full("op", {3}, cg::DType::Float32, 1.0, cg::Device{});
  CHECK(cg::dispatch::check_same_device("op", {on_cpu.get(), on_cpu.get()}) == cg::Device{});
  CHECK_THROWS(cg::dispatch::check_same_device("add", {on_cpu.get(), &on_gpu}), ErrorKind::TypeError,
               "add: expected all tensors on one device, got [3] on cpu, [2, 3] on cuda");
}

TEST(check_dtype_names_the_argument) {
  cg::TensorPtr t = cg::dispatch::full("op", {2}, cg::DType::Int32, 1.0, cg::Device{});
  CHECK_THROWS(cg::dispatch::check_dtype("matmul", *t, cg::DType::Float32, "a"), ErrorKind::TypeError,
               "matmul: a must be float32, got int32 tensor of shape [2]");
}

TEST(memory_counters_follow_tensors_and_storages) {
  cg::MemoryStats before = cg::memory_stats(cg::DeviceType::CPU);
  {
    cg::TensorPtr a = cg::dispatch::full("op", {10}, cg::DType::Float32, 2.0, cg::Device{});
    cg::TensorPtr b = cg::dispatch::reshape("op", *a, {2, 5});  // shares storage
    cg::MemoryStats mid = cg::memory_stats(cg::DeviceType::CPU);
    CHECK_EQ(mid.tensors - before.tensors, int64_t(2));
    CHECK_EQ(mid.storages - before.storages, int64_t(1));
    CHECK_EQ(mid.bytes - before.bytes, int64_t(40));
    CHECK_EQ(b->data_as<float>()[9], 2.0f);
  }
  cg::MemoryStats after = cg::memory_stats(cg::DeviceType::CPU);
  CHECK_EQ(after.tensors, before.tensors);
  CHECK_EQ(after.storages, before.storages);
  CHECK_EQ(after.bytes, before.bytes);
}
