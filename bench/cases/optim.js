// Optimizer benchmarks on 10M parameters: one AdamW step (reads param, grad,
// m, v and writes param, m, v: 28 bytes per parameter) and the global
// gradient norm (reads the gradient: 4 bytes per parameter). And what a GPT
// training step runs: optim.AdamW with globalClipNorm 1 over the parameters of
// the shakespeare_char GPT (10.7M in 76 tensors) -- one multi-tensor call with
// the clip fused in (reads the gradients for the norm, then param, grad, m, v,
// writes param, m, v: 32 bytes per parameter) -- and, for comparison, the
// per-parameter path it replaced (clipGradNorm in place, then adamwStep each).
'use strict';

module.exports = (cg) => {
  const n = 10_000_000;
  const p = cg.randn([n], { seed: 1 });
  const g = cg.randn([n], { seed: 2 });
  const m = cg.zeros([n]);
  const v = cg.zeros([n]);
  let step = 0;
  const params = { n };
  const { GPT } = cg.models;
  const gpt = new GPT({ vocabSize: 65, blockSize: 256, nLayer: 6, nHead: 6, nEmbd: 384 });
  const gp = gpt.parameters();
  gp.forEach((t, i) => (t.grad = cg.randn([...t.shape], { seed: 10 + i, std: 0.1 })));
  const shapes = gp.map((t) => [...t.shape]);
  const np = gp.reduce((a, t) => a + t.size, 0);
  const fused = new cg.optim.AdamW(gp, { lr: 1e-4, globalClipNorm: 1 });
  class PerParam extends cg.optim.AdamW {
    updateAll() {
      return false; // step() then clips in place and updates one parameter at a time
    }
  }
  const perParam = new PerParam(gp, { lr: 1e-4, globalClipNorm: 1 });
  const gptParams = { n: np, tensors: gp.length, shapes };
  return [
    { id: 'adamw_clip_gpt_char', family: 'optim', peer: 'adamw_clip', params: gptParams, bytes: 32 * np, run: () => fused.step() },
    { id: 'adamw_clip_gpt_char_per_param', family: 'optim', peer: 'adamw_clip', params: gptParams, bytes: 32 * np, run: () => perParam.step() },
    { id: 'adamw_step_10M', family: 'optim', peer: 'adamw', params, bytes: 28 * n, run: () => cg.adamwStep(p, g, m, v, { lr: 1e-3, step: ++step }) },
    { id: 'grad_norm_10M', family: 'optim', peer: 'grad_norm', params, bytes: 4 * n, run: () => cg.gradNorm([g]) },
  ];
};
