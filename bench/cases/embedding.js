// Embedding benchmarks at GPT-2's token table: 8192 tokens into (50257, 768).
// Forward moves 8 bytes per output element (row read + write); backward reads
// dout and read-modify-writes the touched dweight rows (12 bytes per dout
// element; the zeroing of dweight, 4 V C bytes, is counted too).
'use strict';

module.exports = (cg) => {
  const N = 8192;
  const V = 50257;
  const C = 768;
  const w = cg.randn([V, C], { seed: 1 });
  const dout = cg.randn([N, C], { seed: 2 });
  const idx = cg.tensor(Int32Array.from({ length: N }, (_, i) => (i * 7919) % V), { shape: [N] });
  const { embeddingBackward } = require('../../dist/ops/embedding');
  const params = { N, V, C };
  return [
    { id: 'embedding_fwd_8192x768', family: 'embedding', peer: 'emb_fwd', params, bytes: 8 * N * C, run: () => cg.embedding(idx, w).dispose() },
    { id: 'embedding_bwd_8192x768', family: 'embedding', peer: 'emb_bwd', params, bytes: 12 * N * C + 4 * V * C, run: () => embeddingBackward(dout, idx, V).dispose() },
  ];
};
