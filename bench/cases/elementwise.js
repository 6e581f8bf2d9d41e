// Elementwise, reduction and shape benchmarks (memory bound: bytes moved =
// 4 bytes x elements read and written): same-shape add over 4M floats, a
// bias-broadcast add (4096, 1024) + (1024), a sum over the last axis of
// (4096, 1024), and the attention layout permute (8, 256, 8, 64) -> (8, 8, 256, 64).
'use strict';

module.exports = (cg) => {
  const n = 4 << 20;
  const a = cg.randn([n], { seed: 1 });
  const b = cg.randn([n], { seed: 2 });
  const [M, N] = [4096, 1024];
  const x = cg.randn([M, N], { seed: 3 });
  const bias = cg.randn([N], { seed: 4 });
  const shape = [8, 256, 8, 64];
  const q = cg.randn(shape, { seed: 5 });
  return [
    { id: 'add_4M', family: 'elementwise', peer: 'add', params: { n }, bytes: 12 * n, run: () => cg.add(a, b).dispose() },
    {
      id: 'add_bias_4096x1024',
      family: 'elementwise',
      peer: 'add_bias',
      params: { M, N },
      bytes: 4 * (2 * M * N + N),
      run: () => cg.add(x, bias).dispose(),
    },
    { id: 'sum_last_4096x1024', family: 'elementwise', peer: 'sum_last', params: { M, N }, bytes: 4 * (M * N + M), run: () => cg.sum(x, -1).dispose() },
    {
      id: 'permute_8x256x8x64',
      family: 'elementwise',
      peer: 'permute',
      params: { shape },
      bytes: 8 * shape.reduce((p, s) => p * s, 1),
      run: () => cg.permute(q, [0, 2, 1, 3]).dispose(),
    },
  ];
};
