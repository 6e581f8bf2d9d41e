// Attention benchmarks: fused causal attention at B=8, H=8, T=256, D=64,
// forward+backward (the goal: >= 1.5x PyTorch's unfused softmax(QK^T)V with
// autograd) and forward alone. flops: 4 B H Tq Tk D forward (halved for
// causal), 2.5x that for backward.
'use strict';

module.exports = (cg) => {
  const { attentionForward, attentionBackward } = require('../../dist/ops/attention');
  const [B, H, T, D] = [8, 8, 256, 64];
  const shape = [B, H, T, D];
  const q = cg.randn(shape, { seed: 1 });
  const k = cg.randn(shape, { seed: 2 });
  const v = cg.randn(shape, { seed: 3 });
  const dout = cg.randn(shape, { seed: 4 });
  const opts = { causal: true };
  const fwdFlops = (4 * B * H * T * T * D) / 2;
  const params = { B, H, T, D, causal: true };
  return [
    {
      id: 'attention_fwdbwd_causal',
      family: 'attention',
      peer: 'fwdbwd',
      params,
      flops: fwdFlops * 3.5,
      run: () => {
        const { out, lse } = attentionForward(q, k, v, opts);
        const g = attentionBackward(dout, q, k, v, out, lse, opts);
        for (const x of [out, lse, g.dq, g.dk, g.dv]) x.dispose();
      },
    },
    {
      id: 'attention_fwd_causal',
      family: 'attention',
      peer: 'fwd',
      params,
      flops: fwdFlops,
      run: () => {
        const { out, lse } = attentionForward(q, k, v, opts);
        out.dispose();
        lse.dispose();
      },
    },
  ];
};
