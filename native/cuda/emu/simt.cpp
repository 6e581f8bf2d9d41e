// The SIMT scheduler (emu/simt.h): fibers per block, barriers, warp
// collectives, deadlock detection, block and thread orders.
#include "simt.h"

#include <algorithm>
#include <memory>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <mutex>
#include <numeric>
#include <random>
#include <sstream>
#include <vector>

#include "../../runtime/thread_pool.h"
#include "fiber.h"

namespace cg::emu {

namespace {

constexpr size_t kStackBytes = 256 * 1024;
constexpr size_t kMaxPayload = 64;
constexpr int kWarpgroup = 128;

enum class Wait { Ready, Barrier, Warp, Done };

struct Site {
  const char* file = "";
  int line = 0;
  bool operator==(const Site& o) const { return line == o.line && std::strcmp(file, o.file) == 0; }
};

}  // namespace

struct ThreadState {
  FiberContext ctx;
  uint3 tid{0, 0, 0};
  int linear = 0;
  Wait wait = Wait::Ready;
  Site site;
  // warp collective in progress
  const char* kind = "";
  unsigned mask = 0;
  int width = kWarpSize;
  alignas(16) unsigned char in[kMaxPayload];
  void* out = nullptr;
  Resolve resolve = nullptr;
  // cp.async copies not yet retired, and where each committed group ends
  struct Copy {
    void* dst;
    const void* src;
    int bytes;
  };
  std::vector<Copy> copies;
  std::vector<size_t> group_ends;
  int group = kWarpSize;  // threads taking part in the collective in progress: a warp, or a warpgroup (128)
  WgmmaState wgmma;
};

struct BlockState {
  uint3 block_idx{0, 0, 0};
  dim3 block_dim, grid_dim;
  const std::function<void()>* body = nullptr;
  std::vector<ThreadState> threads;
  FiberContext sched;
  std::string error;  // first failure inside the block
  const char* kernel = "";
};

thread_local BlockState* cur_block = nullptr;
thread_local ThreadState* cur_thread = nullptr;

namespace {

std::mutex schedule_mutex;
// CUDAGRAD_EMU_SCHEDULE=forward|reverse|shuffle sets the starting schedule of
// every launch (default forward); set_schedule overrides it.
int initial_order() {
  const char* e = std::getenv("CUDAGRAD_EMU_SCHEDULE");
  if (!e || !*e || std::strcmp(e, "forward") == 0) return 0;
  if (std::strcmp(e, "reverse") == 0) return 1;
  if (std::strcmp(e, "shuffle") == 0) return 2;
  std::fprintf(stderr, "cudagrad: CUDAGRAD_EMU_SCHEDULE=%s is not forward, reverse or shuffle; using forward\n", e);
  return 0;
}
int schedule_order = initial_order();
uint64_t schedule_seed = 12345;

thread_local std::vector<std::unique_ptr<Stack>> stacks;
thread_local std::vector<unsigned char> dyn_smem;

void yield_to_scheduler() {
  ThreadState* t = cur_thread;
  fiber_switch(&t->ctx, &cur_block->sched);
}

void fail(const std::string& msg) {
  if (cur_block->error.empty()) cur_block->error = msg;
}

void thread_main(void* arg) {
  auto* t = static_cast<ThreadState*>(arg);
  try {
    (*cur_block->body)();
  } catch (const std::exception& e) {
    fail(std::string("exception in kernel thread: ") + e.what());
  } catch (...) {
    fail("unknown exception in kernel thread");
  }
  if (!t->wgmma.ops.empty())
    fail("thread " + std::to_string(t->linear) + " exited with " + std::to_string(t->wgmma.ops.size()) +
         " wgmma.mma_async not retired by a wgmma.wait_group");
  t->wait = Wait::Done;
  fiber_switch(&t->ctx, &cur_block->sched);  // never resumed
}

std::string where(const Site& s) {
  std::ostringstream os;
  const char* base = std::strrchr(s.file, '/');
  os << (base ? base + 1 : s.file) << ":" << s.line;
  return os.str();
}

std::string dim_str(uint3 v) {
  std::ostringstream os;
  os << "(" << v.x << "," << v.y << "," << v.z << ")";
  return os.str();
}

// Describes what every live thread waits on, for deadlock reports.
std::string waits_str(const BlockState& b) {
  std::vector<std::pair<std::string, int>> groups;
  for (const ThreadState& t : b.threads) {
    if (t.wait == Wait::Done) continue;
    std::string what = t.wait == Wait::Barrier ? "__syncthreads at " + where(t.site)
                       : t.wait == Wait::Warp ? std::string(t.kind) + " at " + where(t.site)
                                              : "running";
    auto it = std::find_if(groups.begin(), groups.end(), [&](auto& g) { return g.first == what; });
    if (it == groups.end()) groups.push_back({what, 1});
    else it->second++;
  }
  std::ostringstream os;
  for (size_t i = 0; i < groups.size(); ++i) os << (i ? ", " : "") << groups[i].second << " thread(s) waiting at " << groups[i].first;
  return os.str();
}

// Completes warp collectives whose lanes have all arrived; returns whether any did.
bool resolve_warps(BlockState& b) {
  bool any = false;
  int n = static_cast<int>(b.threads.size());
  for (int w0 = 0; w0 < n; w0 += kWarpSize) {
    for (int l = 0; l < kWarpSize && w0 + l < n; ++l) {
      ThreadState& t = b.threads[w0 + l];
      if (t.wait != Wait::Warp || t.group != kWarpSize) continue;
      unsigned mask = t.mask;
      bool complete = true;
      for (int k = 0; k < kWarpSize; ++k) {
        if (!(mask >> k & 1u)) continue;
        if (w0 + k >= n) {
          fail("lane " + std::to_string(k) + " named in the mask of " + t.kind + " at " + where(t.site) + " does not exist (block of " + std::to_string(n) + " threads)");
          return false;
        }
        ThreadState& o = b.threads[w0 + k];
        if (o.wait == Wait::Done) {
          fail("lane " + std::to_string(k) + " named in the mask of " + t.kind + " at " + where(t.site) + " has exited");
          return false;
        }
        if (o.wait != Wait::Warp || o.group != kWarpSize || !(o.site == t.site) || o.mask != mask ||
            std::strcmp(o.kind, t.kind) != 0)
          complete = false;
      }
      if (!complete) continue;
      const void* ins[kWarpSize] = {};
      void* outs[kWarpSize] = {};
      for (int k = 0; k < kWarpSize; ++k) {
        if (!(mask >> k & 1u)) continue;
        ins[k] = b.threads[w0 + k].in;
        outs[k] = b.threads[w0 + k].out;
      }
      t.resolve(ins, outs, mask, t.width);
      for (int k = 0; k < kWarpSize; ++k)
        if (mask >> k & 1u) b.threads[w0 + k].wait = Wait::Ready;
      any = true;
    }
  }
  return any;
}

// Completes warpgroup collectives whose 128 threads have all arrived; returns whether any did.
bool resolve_warpgroups(BlockState& b) {
  bool any = false;
  int n = static_cast<int>(b.threads.size());
  for (int w0 = 0; w0 < n; w0 += kWarpgroup) {
    const ThreadState* t = nullptr;
    for (int k = w0; k < n && k < w0 + kWarpgroup && !t; ++k)
      if (b.threads[k].wait == Wait::Warp && b.threads[k].group == kWarpgroup) t = &b.threads[k];
    if (!t) continue;
    if (w0 + kWarpgroup > n) {
      fail(std::string(t->kind) + " at " + where(t->site) + " needs a whole warpgroup of 128 threads (block of " +
           std::to_string(n) + " threads)");
      return false;
    }
    bool complete = true;
    for (int k = w0; k < w0 + kWarpgroup; ++k) {
      const ThreadState& o = b.threads[k];
      if (o.wait == Wait::Done) {
        fail("thread " + std::to_string(k) + " of the warpgroup of " + t->kind + " at " + where(t->site) + " has exited");
        return false;
      }
      if (o.wait != Wait::Warp || o.group != kWarpgroup || !(o.site == t->site) || std::strcmp(o.kind, t->kind) != 0)
        complete = false;
    }
    if (!complete) continue;
    const void* ins[kWarpgroup];
    void* outs[kWarpgroup];
    for (int k = 0; k < kWarpgroup; ++k) {
      ins[k] = b.threads[w0 + k].in;
      outs[k] = b.threads[w0 + k].out;
    }
    t->resolve(ins, outs, 0xffffffffu, kWarpgroup);
    for (int k = w0; k < w0 + kWarpgroup; ++k) b.threads[k].wait = Wait::Ready;
    any = true;
  }
  return any;
}

// Releases a block barrier once every live thread waits at it; returns whether it did.
bool resolve_barrier(BlockState& b) {
  const ThreadState* first = nullptr;
  for (const ThreadState& t : b.threads) {
    if (t.wait == Wait::Done) continue;
    if (t.wait != Wait::Barrier) return false;
    if (!first) first = &t;
    else if (!(t.site == first->site)) {
      fail("threads wait at different __syncthreads: " + where(first->site) + " and " + where(t.site));
      return false;
    }
  }
  if (!first) return false;
  for (ThreadState& t : b.threads)
    if (t.wait == Wait::Barrier) t.wait = Wait::Ready;
  return true;
}

std::vector<int> make_order(int n, int order, uint64_t seed) {
  std::vector<int> v(n);
  std::iota(v.begin(), v.end(), 0);
  if (order == 1) std::reverse(v.begin(), v.end());
  if (order == 2) std::shuffle(v.begin(), v.end(), std::mt19937_64(seed));
  return v;
}

void run_block(BlockState& b, int order, uint64_t seed) {
  int n = static_cast<int>(b.block_dim.x * b.block_dim.y * b.block_dim.z);
  while (stacks.size() < static_cast<size_t>(n)) stacks.push_back(std::make_unique<Stack>(kStackBytes));
  b.threads.assign(n, ThreadState{});
  for (int i = 0; i < n; ++i) {
    ThreadState& t = b.threads[i];
    t.linear = i;
    t.tid = uint3{i % b.block_dim.x, (i / b.block_dim.x) % b.block_dim.y, i / (b.block_dim.x * b.block_dim.y)};
    fiber_init(&t.ctx, stacks[i].get(), thread_main, &t);
  }
  std::vector<int> run_order = make_order(n, order, seed);
  cur_block = &b;
  for (;;) {
    bool ran = false;
    for (int i : run_order) {
      ThreadState& t = b.threads[i];
      if (t.wait != Wait::Ready) continue;
      cur_thread = &t;
      fiber_switch(&b.sched, &t.ctx);
      ran = true;
      if (!b.error.empty()) break;
    }
    if (!b.error.empty()) break;
    bool live = std::any_of(b.threads.begin(), b.threads.end(), [](const ThreadState& t) { return t.wait != Wait::Done; });
    if (!live) break;
    bool released = resolve_warps(b);
    if (!b.error.empty()) break;
    released = resolve_warpgroups(b) || released;
    if (!b.error.empty()) break;
    released = resolve_barrier(b) || released;
    if (!b.error.empty()) break;
    if (!released && !ran) {
      fail("deadlock: " + waits_str(b));
      break;
    }
  }
  cur_thread = nullptr;
  cur_block = nullptr;
}

}  // namespace

const uint3& thread_idx() { return cur_thread->tid; }
const uint3& block_idx() { return cur_block->block_idx; }
const dim3& block_dim() { return cur_block->block_dim; }
const dim3& grid_dim() { return cur_block->grid_dim; }
void* dynamic_smem() { return dyn_smem.data(); }
size_t dynamic_smem_size() { return dyn_smem.size(); }
int thread_linear() { return cur_thread->linear; }
WgmmaState& wgmma_state() { return cur_thread->wgmma; }
int lane_id() { return cur_thread->linear % kWarpSize; }

unsigned active_mask() {
  unsigned m = 0;
  int w0 = cur_thread->linear / kWarpSize * kWarpSize;
  int n = static_cast<int>(cur_block->threads.size());
  for (int k = 0; k < kWarpSize && w0 + k < n; ++k)
    if (cur_block->threads[w0 + k].wait != Wait::Done) m |= 1u << k;
  return m;
}

void syncthreads(const char* file, int line) {
  cur_thread->wait = Wait::Barrier;
  cur_thread->site = Site{file, line};
  yield_to_scheduler();
}

void warp_collective(const char* kind, unsigned mask, int width, const char* file, int line, const void* in, size_t in_size,
                     void* out, Resolve resolve) {
  ThreadState* t = cur_thread;
  int lane = t->linear % kWarpSize;
  Site site{file, line};
  if (!(mask >> lane & 1u)) {
    fail(std::string(kind) + " at " + where(site) + ": the calling lane " + std::to_string(lane) + " is not in the mask");
    t->wait = Wait::Done;
    fiber_switch(&t->ctx, &cur_block->sched);
  }
  if (width < 1 || width > kWarpSize || (width & (width - 1)) != 0) {
    fail(std::string(kind) + " at " + where(site) + ": width " + std::to_string(width) + " is not a power of two <= 32");
    t->wait = Wait::Done;
    fiber_switch(&t->ctx, &cur_block->sched);
  }
  if (in_size) std::memcpy(t->in, in, in_size);
  t->out = out;
  t->kind = kind;
  t->mask = mask;
  t->width = width;
  t->group = kWarpSize;
  t->resolve = resolve;
  t->site = site;
  t->wait = Wait::Warp;
  yield_to_scheduler();
}

void warpgroup_collective(const char* kind, const char* file, int line, const void* in, size_t in_size, void* out,
                          Resolve resolve) {
  ThreadState* t = cur_thread;
  if (in_size > kMaxPayload) {
    fail(std::string(kind) + ": payload of " + std::to_string(in_size) + " bytes exceeds " + std::to_string(kMaxPayload));
    t->wait = Wait::Done;
    fiber_switch(&t->ctx, &cur_block->sched);
  }
  if (in_size) std::memcpy(t->in, in, in_size);
  t->out = out;
  t->kind = kind;
  t->mask = 0xffffffffu;
  t->width = kWarpSize;
  t->group = kWarpgroup;
  t->resolve = resolve;
  t->site = Site{file, line};
  t->wait = Wait::Warp;
  yield_to_scheduler();
}

void resolve_none(const void* const*, void* const*, unsigned, int) {}

void cp_async_push(void* dst, const void* src, int bytes) { cur_thread->copies.push_back({dst, src, bytes}); }

void cp_async_commit_group() { cur_thread->group_ends.push_back(cur_thread->copies.size()); }

void cp_async_wait_groups(int n) {
  ThreadState* t = cur_thread;
  if (static_cast<int>(t->group_ends.size()) <= n) return;
  size_t retire_groups = t->group_ends.size() - static_cast<size_t>(n);
  size_t upto = t->group_ends[retire_groups - 1];
  for (size_t i = 0; i < upto; ++i) std::memcpy(t->copies[i].dst, t->copies[i].src, static_cast<size_t>(t->copies[i].bytes));
  t->copies.erase(t->copies.begin(), t->copies.begin() + static_cast<std::ptrdiff_t>(upto));
  t->group_ends.erase(t->group_ends.begin(), t->group_ends.begin() + static_cast<std::ptrdiff_t>(retire_groups));
  for (size_t& e : t->group_ends) e -= upto;
}

void resolve_shfl(const void* const* in, void* const* out, unsigned mask, int width) {
  for (int lane = 0; lane < kWarpSize; ++lane) {
    if (!(mask >> lane & 1u)) continue;
    const ShflIn& me = *static_cast<const ShflIn*>(in[lane]);
    int base = lane / width * width, pos = lane % width, src = lane;
    switch (me.mode) {
      case 0: src = base + ((me.arg % width) + width) % width; break;
      case 1: src = pos - me.arg >= 0 ? lane - me.arg : lane; break;
      case 2: src = pos + me.arg < width ? lane + me.arg : lane; break;
      default: src = base + ((pos ^ me.arg) % width); break;
    }
    // A lane outside the mask has no defined value: hand out a poison pattern.
    uint64_t v = (mask >> src & 1u) ? static_cast<const ShflIn*>(in[src])->bits : 0x7fc0dead7fc0deadull;
    std::memcpy(out[lane], &v, 8);
  }
}

void resolve_vote(const void* const* in, void* const* out, unsigned mask, int) {
  unsigned ballot = 0;
  for (int lane = 0; lane < kWarpSize; ++lane)
    if ((mask >> lane & 1u) && *static_cast<const int*>(in[lane])) ballot |= 1u << lane;
  for (int lane = 0; lane < kWarpSize; ++lane)
    if (mask >> lane & 1u) *static_cast<unsigned*>(out[lane]) = ballot;
}

void set_schedule(int order, uint64_t seed) {
  std::lock_guard<std::mutex> lock(schedule_mutex);
  schedule_order = order;
  schedule_seed = seed;
}

std::string run_grid(const char* kernel, dim3 grid, dim3 block, size_t smem, const std::function<void()>& body) {
  uint64_t threads = uint64_t(block.x) * block.y * block.z;
  std::ostringstream cfg;
  cfg << "kernel " << kernel << " grid (" << grid.x << "," << grid.y << "," << grid.z << ") block (" << block.x << ","
      << block.y << "," << block.z << ")";
  if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 ||
      grid.z > 65535 || grid.x > 2147483647u)
    return "invalid configuration argument: " + cfg.str();
  if (smem > 227 * 1024) return "dynamic shared memory of " + std::to_string(smem) + " bytes exceeds 227 KiB: " + cfg.str();
  int order;
  uint64_t seed;
  {
    std::lock_guard<std::mutex> lock(schedule_mutex);
    order = schedule_order;
    seed = schedule_seed;
  }
  int64_t nblocks = int64_t(grid.x) * grid.y * grid.z;
  std::vector<int> block_order;
  if (order == 0) block_order.clear();  // identity, without a big vector for huge grids
  else if (nblocks <= (int64_t(1) << 24)) block_order = make_order(static_cast<int>(nblocks), order, seed);
  std::mutex err_mutex;
  std::string first_error;
  parallel_for(nblocks, 1, [&](int64_t lo, int64_t hi) {
    BlockState b;
    b.block_dim = block;
    b.grid_dim = grid;
    b.body = &body;
    b.kernel = kernel;
    dyn_smem.assign(smem, 0xcd);  // uninitialised shared memory is not zero on a GPU either
    for (int64_t i = lo; i < hi; ++i) {
      int64_t id = block_order.empty() ? i : block_order[static_cast<size_t>(i)];
      b.block_idx = uint3{static_cast<unsigned>(id % grid.x), static_cast<unsigned>(id / grid.x % grid.y),
                          static_cast<unsigned>(id / (int64_t(grid.x) * grid.y))};
      b.error.clear();
      run_block(b, order, seed + static_cast<uint64_t>(id));
      if (!b.error.empty()) {
        std::lock_guard<std::mutex> lock(err_mutex);
        if (first_error.empty()) first_error = b.error + " (" + cfg.str() + ", block " + dim_str(b.block_idx) + ")";
        return;
      }
    }
  });
  return first_error;
}

}  // namespace cg::emu
