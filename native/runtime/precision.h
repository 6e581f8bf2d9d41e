// Matmul precision on the GPU (cudagrad.setMatmulPrecision): 'highest' is
// float32 FMA (the SIMT GEMM), 'high' TF32 tensor cores, 'medium' bf16 tensor
// cores; all accumulate in float32. Default 'highest'. The CPU always computes
// in float32.
#pragma once

namespace cg {

enum class MatmulPrecision : int { Highest = 0, High = 1, Medium = 2 };

MatmulPrecision matmul_precision();
void set_matmul_precision(MatmulPrecision p);

// Deterministic mode (cudagrad.setDeterministic): kernels that would add
// floats in a run-dependent order (the CUDA embedding backward's atomics)
// take an order-fixed path instead, whatever it costs. Every other kernel,
// and every CPU kernel, is deterministic anyway. Default off.
bool deterministic();
void set_deterministic(bool on);

}  // namespace cg
