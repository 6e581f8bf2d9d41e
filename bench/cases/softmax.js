// Softmax benchmarks on (4096, 1024) rows (memory bound: bytes moved =
// 4 bytes x tensors read and written): softmax and log-softmax forward,
// softmax backward, and the causal-masked forward.
'use strict';

module.exports = (cg) => {
  const rows = 4096;
  const C = 1024;
  const n = rows * C;
  const x = cg.randn([rows, C], { seed: 1 });
  const dout = cg.randn([rows, C], { seed: 2 });
  const y = cg.softmax(x);
  const { softmaxBackward } = require('../../dist/ops/softmax');
  const params = { rows, C };
  return [
    { id: 'softmax_fwd_4096x1024', family: 'softmax', peer: 'softmax_fwd', params, bytes: 8 * n, run: () => cg.softmax(x).dispose() },
    { id: 'log_softmax_fwd_4096x1024', family: 'softmax', peer: 'log_softmax_fwd', params, bytes: 8 * n, run: () => cg.logSoftmax(x).dispose() },
    { id: 'softmax_bwd_4096x1024', family: 'softmax', peer: 'softmax_bwd', params, bytes: 12 * n, run: () => softmaxBackward(dout, y).dispose() },
  ];
};
