// Matmul precision on the GPU (cudagrad.setMatmulPrecision): 'highest' is
// float32 FMA (the SIMT GEMM), 'high' TF32 tensor cores, 'medium' bf16 tensor
// cores; all accumulate in float32. Default 'highest'. The CPU always computes
// in float32.
#pragma once

namespace cg {

enum class MatmulPrecision : int { Highest = 0, High = 1, Medium = 2 };

MatmulPrecision matmul_precision();
void set_matmul_precision(MatmulPrecision p);

}  // namespace cg
