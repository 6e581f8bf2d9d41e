// CG_HD marks small functions shared by host code and CUDA kernels (nvcc:
// __host__ __device__ inline; plain C++, the SIMT emulator included: inline).
#pragma once

#if defined(__CUDACC__)
#define CG_HD __host__ __device__ __forceinline__
#else
#define CG_HD inline
#endif
