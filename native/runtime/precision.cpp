// The matmul precision and deterministic-mode settings (runtime/precision.h).
#include "precision.h"

#include <atomic>

namespace cg {

namespace {
std::atomic<int> precision{static_cast<int>(MatmulPrecision::Highest)};
std::atomic<bool> deterministic_mode{false};
}

MatmulPrecision matmul_precision() { return static_cast<MatmulPrecision>(precision.load(std::memory_order_relaxed)); }

void set_matmul_precision(MatmulPrecision p) { precision.store(static_cast<int>(p)); }

bool deterministic() { return deterministic_mode.load(std::memory_order_relaxed); }

void set_deterministic(bool on) { deterministic_mode.store(on); }

}  // namespace cg
