// dtype conversion benchmarks over 4M elements: float32 -> bfloat16 (round to
// nearest even) and back (memory bound: bytes = 4 read + 2 written, or 2 + 4,
// per element).
'use strict';

module.exports = (cg) => {
  const n = 4 << 20;
  const x = cg.randn([n], { seed: 1 });
  const h = x.cast('bfloat16');
  return [
    { id: 'cast_f32_bf16_4M', family: 'cast', peer: 'to_bf16', params: { n }, bytes: 6 * n, run: () => x.cast('bfloat16').dispose() },
    { id: 'cast_bf16_f32_4M', family: 'cast', peer: 'to_f32', params: { n }, bytes: 6 * n, run: () => h.cast('float32').dispose() },
  ];
};
