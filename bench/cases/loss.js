// Cross-entropy benchmarks at GPT-2's shape, logits (1024, 50257): forward
// (reads the logits once: 4 N C bytes) and forward + backward (the backward
// reads the logits and writes dlogits: 12 N C bytes in all), and the same
// through autograd, which a training step runs: loss.backward() takes the
// gradient the forward wrote in its one pass (8 N C bytes: read once, write once).
'use strict';

module.exports = (cg) => {
  const N = 1024;
  const C = 50257;
  const logits = cg.randn([N, C], { seed: 1 });
  const tg = cg.tensor(Int32Array.from({ length: N }, (_, i) => (i * 7919) % C), { shape: [N] });
  const { crossEntropyBackward } = require('../../dist/ops/loss');
  const params = { N, C };
  return [
    { id: 'cross_entropy_fwd_1024x50257', family: 'loss', peer: 'ce_fwd', params, bytes: 4 * N * C, run: () => cg.crossEntropy(logits, tg).dispose() },
    {
      id: 'cross_entropy_fwdbwd_1024x50257',
      family: 'loss',
      peer: 'ce_fwdbwd',
      params,
      bytes: 12 * N * C,
      run: () => {
        cg.crossEntropy(logits, tg).dispose();
        crossEntropyBackward(1, logits, tg).dispose();
      },
    },
    {
      id: 'cross_entropy_autograd_1024x50257',
      family: 'loss',
      peer: 'ce_fwdbwd',
      params,
      bytes: 8 * N * C,
      run: () => {
        logits.requiresGrad = true;
        cg.crossEntropy(logits, tg).backward();
        logits.requiresGrad = false;
        logits.grad.dispose();
        logits.grad = null;
      },
    },
  ];
};
