// GEMM benchmarks: square sgemm (flops = 2 M N K), a GPT-2-sized linear
// layer with the fused bias + GELU epilogue, and the GPT training step's
// forward / backward products (gptmm_*), against NumPy (OpenBLAS) and PyTorch
// on the same threads.
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
  // The GPT training step's linear-layer products (lib/models/gpt/blocks.ts), for the CPU
  // default config (C = 128, B x T = 16 x 128 tokens: `npx cudagrad train gpt`) and nanoGPT's
  // shakespeare_char (C = 384, 64 x 256 tokens). Per layer (in -> out): c_attn C -> 3C,
  // attn c_proj C -> C, c_fc C -> 4C, mlp c_proj 4C -> C. Each gives three products:
  //   fwd: out (M, out) = x (M, in) @ W (out, in)^T + b   (linear: trans_b, bias epilogue)
  //   dx:  dx (M, in) = dout (M, out) @ W (out, in)        (K = out)
  //   dw:  dW (out, in) = dout^T (out, M) @ x (M, in)      (trans_a, K = M: the long-K one;
  //        cudagrad.gemm, which also copies its c argument (out x in) into the result)
  const gptLayers = [
    ['c128', 2048, 128],
    ['c384', 16384, 384],
  ];
  for (const [tag, M, C] of gptLayers) {
    for (const [layer, inF, outF] of [
      ['attn', C, 3 * C],
      ['aproj', C, C],
      ['fc', C, 4 * C],
      ['mproj', 4 * C, C],
    ]) {
      const x = cg.randn([M, inF], { seed: 6 });
      const w = cg.randn([outF, inF], { seed: 7 });
      const bias = cg.randn([outF], { seed: 8 });
      const dout = cg.randn([M, outF], { seed: 9 });
      const flops = 2 * M * inF * outF;
      const id = `gptmm_${tag}_${layer}`;
      cases.push({ id: `${id}_fwd`, family: 'gemm', peer: 'linear', params: { m: M, k: inF, n: outF }, flops, run: () => cg.linear(x, w, bias).dispose() });
      cases.push({
        id: `${id}_dx`,
        family: 'gemm',
        peer: 'gemm',
        params: { m: M, n: inF, k: outF },
        flops,
        run: () => cg.matmul(dout, w).dispose(),
      });
      cases.push({
        id: `${id}_dw`,
        family: 'gemm',
        peer: 'gemm',
        params: { transA: true, m: outF, n: inF, k: M },
        flops,
        run: () => cg.gemm(dout, x, w, { transA: true, m: outF, n: inF, k: M }).out.dispose(),
      });
    }
  }
  return cases;
};
