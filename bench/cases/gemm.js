// GEMM benchmarks: square sgemm (flops = 2 M N K) and a GPT-2-sized linear
// layer with the fused bias + GELU epilogue, against NumPy (OpenBLAS) and
// PyTorch on the same threads.
'use strict';

module.exports = (cg) => {
  const cases = [];
  for (const n of [512, 1024, 2048]) {
    const a = cg.randn([n, n], { seed: 1 });
    const b = cg.randn([n, n], { seed: 2 });
    cases.push({ id: `sgemm_${n}`, family: 'gemm', peer: 'sgemm', params: { n }, flops: 2 * n ** 3, run: () => cg.matmul(a, b).dispose() });
  }
  // GPT-2 small MLP up-projection: x (8 x 256 tokens, 768) @ W (3072, 768)^T + b, then GELU.
  const [m, k, n] = [2048, 768, 3072];
  const x = cg.randn([m, k], { seed: 3 });
  const w = cg.randn([n, k], { seed: 4 });
  const bias = cg.randn([n], { seed: 5 });
  cases.push({
    id: 'linear_gelu_2048x768x3072',
    family: 'gemm',
    peer: 'linear_gelu',
    params: { m, k, n },
    flops: 2 * m * n * k,
    run: () => cg.linear(x, w, bias, { activation: 'gelu' }).dispose(),
  });
  return cases;
};
