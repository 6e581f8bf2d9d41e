// Fibers for the SIMT emulator: one per emulated CUDA thread, switched
// cooperatively on one OS thread (x86-64: a 16-instruction context switch;
// elsewhere: ucontext). Stacks are mmap'd with a guard page and reused.
#pragma once

#include <cstddef>

namespace cg::emu {

struct FiberContext {
  void* sp = nullptr;  // saved stack pointer (x86-64 switch)
  void* uc = nullptr;  // ucontext_t* (fallback)
};

using FiberEntry = void (*)(void* arg);

class Stack {
 public:
  explicit Stack(size_t bytes);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;
  char* top() const { return base_ + size_; }
  char* bottom() const { return base_; }

 private:
  char* map_ = nullptr;
  char* base_ = nullptr;
  size_t size_ = 0, map_size_ = 0;
};

// Prepares `ctx` so that the first switch to it runs entry(arg) on `stack`.
// entry must never return: it ends by switching away for good.
void fiber_init(FiberContext* ctx, Stack* stack, FiberEntry entry, void* arg);
// Saves the current context into `from` and resumes `to`.
void fiber_switch(FiberContext* from, FiberContext* to);

}  // namespace cg::emu
