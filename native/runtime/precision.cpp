// The matmul precision setting (runtime/precision.h).
#include "precision.h"

#include <atomic>

namespace cg {

namespace {
std::atomic<int> precision{static_cast<int>(MatmulPrecision::Highest)};
}

MatmulPrecision matmul_precision() { return static_cast<MatmulPrecision>(precision.load(std::memory_order_relaxed)); }

void set_matmul_precision(MatmulPrecision p) { precision.store(static_cast<int>(p)); }

}  // namespace cg
