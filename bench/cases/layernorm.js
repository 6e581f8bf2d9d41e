// LayerNorm benchmarks on (4096, 1024) with weight and bias (memory bound:
// bytes = 4 x (input read + output written); the (C) parameters and (N)
// statistics are left out): forward, and backward (reads dout and x, writes dx).
'use strict';

module.exports = (cg) => {
  const rows = 4096;
  const C = 1024;
  const n = rows * C;
  const x = cg.randn([rows, C], { seed: 1 });
  const dout = cg.randn([rows, C], { seed: 2 });
  const w = cg.randn([C], { seed: 3 });
  const b = cg.randn([C], { seed: 4 });
  const { layerNormForward, layerNormBackward } = require('../../dist/ops/layernorm');
  const { mean, rstd } = layerNormForward(x, w, b);
  const params = { rows, C };
  const disposeAll = (o) => Object.values(o).forEach((v) => v.dispose());
  return [
    { id: 'layernorm_fwd_4096x1024', family: 'layernorm', peer: 'layernorm_fwd', params, bytes: 8 * n, run: () => disposeAll(layerNormForward(x, w, b)) },
    { id: 'layernorm_bwd_4096x1024', family: 'layernorm', peer: 'layernorm_bwd', params, bytes: 12 * n, run: () => disposeAll(layerNormBackward(dout, x, w, mean, rstd)) },
  ];
};
