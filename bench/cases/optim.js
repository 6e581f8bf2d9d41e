// Optimizer benchmarks on 10M parameters: one AdamW step (reads param, grad,
// m, v and writes param, m, v: 28 bytes per parameter) and the global
// gradient norm (reads the gradient: 4 bytes per parameter).
'use strict';

module.exports = (cg) => {
  const n = 10_000_000;
  const p = cg.randn([n], { seed: 1 });
  const g = cg.randn([n], { seed: 2 });
  const m = cg.zeros([n]);
  const v = cg.zeros([n]);
  let step = 0;
  const params = { n };
  return [
    { id: 'adamw_step_10M', family: 'optim', peer: 'adamw', params, bytes: 28 * n, run: () => cg.adamwStep(p, g, m, v, { lr: 1e-3, step: ++step }) },
    { id: 'grad_norm_10M', family: 'optim', peer: 'grad_norm', params, bytes: 4 * n, run: () => cg.gradNorm([g]) },
  ];
};
