// Timing policy shared by the benchmarks: warm up, then repeat until both a
// minimum count and a minimum time are reached; report the median.
'use strict';

function timeIt(fn, { minReps = 5, minSeconds = 0.4, warmup = 2 } = {}) {
  for (let i = 0; i < warmup; i++) fn();
  const times = [];
  const start = process.hrtime.bigint();
  while (times.length < minReps || Number(process.hrtime.bigint() - start) / 1e9 < minSeconds) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (times.length >= 1000) break;
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

module.exports = { timeIt };
