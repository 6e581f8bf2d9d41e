// Activation benchmarks: GELU forward and backward over 4M floats (memory bound:
// bytes moved = 4 bytes x tensors read and written), and ReLU on one element:
// the per-op cost from JS (argument checks, dispatch, output allocation, the
// Tensor wrapper, dispose) next to torch's eager dispatch of the same op.
'use strict';

module.exports = (cg) => {
  const n = 4 << 20;
  const x = cg.randn([n], { seed: 1 });
  const dout = cg.randn([n], { seed: 2 });
  const { activationBackward } = require('../../dist/ops/activation');
  const one = cg.randn([1], { seed: 3 });
  return [
    {
      // 1000 calls a repetition (warm JIT, timer overhead amortised): seconds / 1000 = per op.
      id: 'relu_dispatch_1000x1',
      family: 'activation',
      peer: 'relu_1000x1',
      params: { n: 1, calls: 1000 },
      bytes: 8000,
      run: () => {
        for (let i = 0; i < 1000; i++) cg.relu(one).dispose();
      },
    },
    { id: 'gelu_fwd_4M', family: 'activation', peer: 'gelu_fwd', params: { n }, bytes: 8 * n, run: () => cg.gelu(x).dispose() },
    {
      id: 'gelu_bwd_4M',
      family: 'activation',
      peer: 'gelu_bwd',
      params: { n },
      bytes: 12 * n,
      run: () => activationBackward('gelu', dout, x).dispose(),
    },
  ];
};
