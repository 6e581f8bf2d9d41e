// Dropout benchmark: forward over 4M floats with p = 0.1 (memory bound once
// the Philox words are cheap: bytes = 8 per element, input read + output written).
'use strict';

module.exports = (cg) => {
  const n = 4 << 20;
  const x = cg.randn([n], { seed: 1 });
  return [{ id: 'dropout_fwd_4M', family: 'dropout', peer: 'dropout_fwd', params: { n, p: 0.1 }, bytes: 8 * n, run: () => cg.dropout(x, 0.1).dispose() }];
};
