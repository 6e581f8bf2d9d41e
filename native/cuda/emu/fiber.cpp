// Fiber stacks and context switches (emu/fiber.h).
#include "fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <new>

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace cg::emu {

Stack::Stack(size_t bytes) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_ = (bytes + page - 1) / page * page;
  map_size_ = size_ + page;  // + guard page below the stack
  void* p = mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  map_ = static_cast<char*>(p);
  mprotect(map_, page, PROT_NONE);
  base_ = map_ + page;
}

Stack::~Stack() { munmap(map_, map_size_); }

#if defined(__x86_64__)

extern "C" void cg_emu_switch(void** save_sp, void* load_sp);
extern "C" void cg_emu_trampoline();

// Saves callee-saved registers, MXCSR and the x87 control word on the current
// stack, stores the stack pointer, loads the other one and restores its state.
asm(R"(
  .text
  .globl cg_emu_switch
  .type cg_emu_switch,@function
cg_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size cg_emu_switch,.-cg_emu_switch

  .globl cg_emu_trampoline
  .type cg_emu_trampoline,@function
cg_emu_trampoline:
  movq %r12, %rdi
  call *%r13
  ud2
  .size cg_emu_trampoline,.-cg_emu_trampoline
)");

void fiber_init(FiberContext* ctx, Stack* stack, FiberEntry entry, void* arg) {
  // Layout below the 16-byte aligned top, as cg_emu_switch pops it:
  //   [fpu/mxcsr][r15][r14][r13=entry][r12=arg][rbx][rbp][ret=trampoline]
  // After the ret, rsp = top (16-byte aligned), so the trampoline's call enters
  // `entry` with the alignment the ABI expects.
  uintptr_t top = reinterpret_cast<uintptr_t>(stack->top()) & ~uintptr_t(15);
  uint64_t* sp = reinterpret_cast<uint64_t*>(top) - 8;
  uint32_t ctl[2] = {0x1F80u, 0x037Fu};  // default MXCSR, x87 control word
  std::memcpy(&sp[0], ctl, 8);
  sp[1] = 0;                                             // r15
  sp[2] = 0;                                             // r14
  sp[3] = reinterpret_cast<uint64_t>(entry);             // r13
  sp[4] = reinterpret_cast<uint64_t>(arg);               // r12
  sp[5] = 0;                                             // rbx
  sp[6] = 0;                                             // rbp
  sp[7] = reinterpret_cast<uint64_t>(&cg_emu_trampoline);  // return address
  ctx->sp = sp;
}

void fiber_switch(FiberContext* from, FiberContext* to) { cg_emu_switch(&from->sp, to->sp); }

#else

namespace {
struct Start {
  FiberEntry entry;
  void* arg;
};
void start_fn(unsigned hi, unsigned lo) {
  auto* s = reinterpret_cast<Start*>((static_cast<uintptr_t>(hi) << 32) | lo);
  s->entry(s->arg);
}
}  // namespace

void fiber_init(FiberContext* ctx, Stack* stack, FiberEntry entry, void* arg) {
  auto* uc = static_cast<ucontext_t*>(ctx->uc ? ctx->uc : (ctx->uc = new ucontext_t));
  getcontext(uc);
  uc->uc_stack.ss_sp = stack->bottom();
  uc->uc_stack.ss_size = static_cast<size_t>(stack->top() - stack->bottom()) - 64;
  uc->uc_link = nullptr;
  auto* s = reinterpret_cast<Start*>(stack->top() - 64);
  *s = Start{entry, arg};
  uintptr_t p = reinterpret_cast<uintptr_t>(s);
  makecontext(uc, reinterpret_cast<void (*)()>(start_fn), 2, static_cast<unsigned>(p >> 32), static_cast<unsigned>(p));
}

void fiber_switch(FiberContext* from, FiberContext* to) {
  if (!from->uc) from->uc = new ucontext_t;
  swapcontext(static_cast<ucontext_t*>(from->uc), static_cast<ucontext_t*>(to->uc));
}

#endif

}  // namespace cg::emu
