// Thread pool: workers sleep on a condition variable and take chunks of the
// current job by atomic counter; the caller waits until all chunks are done.
#include "thread_pool.h"

#include <sched.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "error.h"

namespace cg {

namespace {

thread_local bool in_parallel_region = false;
constexpr int kSpin = 4000;  // pause instructions, ~20-60 us

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

int default_threads() {
  if (const char* env = std::getenv("CUDAGRAD_NUM_THREADS")) {
    char* end = nullptr;
    long v = std::strtol(env, &end, 10);
    if (end == env || *end != '\0' || v < 1 || v > 1024)
      throw_range_error("CUDAGRAD_NUM_THREADS='", env, "' is not a thread count between 1 and 1024");
    return static_cast<int>(v);
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? static_cast<int>(hc) : 1;
}

class Pool {
 public:
  explicit Pool(int n) { start(n); }

  int size() const { return size_; }

  void resize(int n) {
    std::lock_guard<std::mutex> job_lock(job_mutex_);
    stop();
    start(n);
  }

  void run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int64_t max_chunks = (n + grain - 1) / grain;
    int64_t chunks = max_chunks < size_ ? max_chunks : size_;
    if (chunks <= 1 || in_parallel_region) {
      fn(0, n);
      return;
    }
    std::lock_guard<std::mutex> job_lock(job_mutex_);  // one job at a time
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fn_ = &fn;
      n_ = n;
      chunks_ = chunks;
      next_chunk_.store(1);
      pending_ = chunks;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    run_chunk(0);
    work_chunks();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0 && active_ == 0; });
    fn_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void start(int n) {
    size_ = n;
    quit_ = false;
    for (int i = 1; i < n; ++i) workers_.emplace_back([this] { worker_loop(); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      quit_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  void run_chunk(int64_t c) {
    int64_t begin = n_ * c / chunks_, end = n_ * (c + 1) / chunks_;
    bool was = in_parallel_region;
    in_parallel_region = true;
    try {
      (*fn_)(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    in_parallel_region = was;
    std::lock_guard<std::mutex> lock(mutex_);
    if (--pending_ == 0 && active_ == 0) done_.notify_all();
  }

  void work_chunks() {
    for (int64_t c; (c = next_chunk_.fetch_add(1)) < chunks_;) run_chunk(c);
  }

  void worker_loop() {
    uint64_t seen = 0;
    for (;;) {
      // Spin a few tens of microseconds before sleeping: ops come back to back, and a
      // sleeping worker wakes late when the other cores are busy.
      for (int i = 0; i < kSpin && generation_.load(std::memory_order_acquire) == seen; ++i) cpu_relax();
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return quit_ || generation_ != seen; });
        if (quit_) return;
        seen = generation_;
        if (!fn_) continue;
        ++active_;  // the job's state stays put until this worker leaves it
      }
      work_chunks();
      std::lock_guard<std::mutex> lock(mutex_);
      if (--active_ == 0 && pending_ == 0) done_.notify_all();
    }
  }

  int size_ = 1;
  std::vector<std::thread> workers_;
  std::mutex job_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0, chunks_ = 0, pending_ = 0;
  int active_ = 0;  // workers inside work_chunks()
  std::atomic<int64_t> next_chunk_{0};
  std::atomic<uint64_t> generation_{0};
  bool quit_ = false;
  std::exception_ptr error_;
};

// Never destroyed: joining threads from a static destructor at exit is unsafe.
Pool& pool() {
  static Pool* p = new Pool(default_threads());
  return *p;
}

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) {
  if (n < 1 || n > 1024) throw_range_error("cudagrad.setNumThreads: ", n, " is not a thread count between 1 and 1024");
  if (n != pool().size()) pool().resize(n);
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  pool().run(n, grain, fn);
}

}  // namespace cg
