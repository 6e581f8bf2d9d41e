// Shared test helpers: an independent Philox 4x32-10 (the oracle for the RNG
// tests), child-process runners, a close-enough comparison, and a counter of
// the native calls an op makes.
import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import * as path from 'node:path';

export const root = path.join(__dirname, '..');

// Philox 4x32-10 written from the paper's description, in plain JS numbers.
function mulhilo(a: number, b: number): [number, number] {
  const p = BigInt(a) * BigInt(b);
  return [Number(p >> 32n), Number(p & 0xffffffffn)];
}

export function philox(ctr: number[], key: number[]): number[] {
  let [c0, c1, c2, c3] = ctr;
  let [k0, k1] = key;
  for (let r = 0; r < 10; r++) {
    const [hi0, lo0] = mulhilo(0xd2511f53, c0);
    const [hi1, lo1] = mulhilo(0xcd9e8d57, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  return [c0, c1, c2, c3];
}

// Words of element i of the stream (seed, offset), as in native/runtime/philox.h.
export function streamWords(seed: bigint, offset: bigint, n: number): number[] {
  const out: number[] = [];
  const lo = (x: bigint) => Number(x & 0xffffffffn);
  const hi = (x: bigint) => Number((x >> 32n) & 0xffffffffn);
  for (let b = 0; out.length < n; b++) {
    const w = philox([b, 0, lo(offset), hi(offset)], [lo(seed), hi(seed)]);
    out.push(...w);
  }
  return out.slice(0, n);
}

export function oracleUniform(seed: bigint, offset: bigint, n: number, low = 0, high = 1): number[] {
  return streamWords(seed, offset, n).map((w) => Math.fround(low + (high - low) * ((w >>> 8) / 2 ** 24)));
}

export function oracleNormal(seed: bigint, offset: bigint, n: number, mean = 0, std = 1): number[] {
  const w = streamWords(seed, offset, Math.ceil(n / 2) * 2);
  const out: number[] = [];
  for (let i = 0; i < w.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log((w[i] + 0.5) / 2 ** 32));
    const t = w[i + 1] * ((2 * Math.PI) / 2 ** 32);
    out.push(mean + std * r * Math.cos(t), mean + std * r * Math.sin(t));
  }
  return out.slice(0, n);
}

// Index of the first element where |a - b| > atol + rtol * |b|, or -1.
export function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - b[i]) <= atol + rtol * Math.abs(b[i]))) return i;
  }
  return -1;
}

// Runs a snippet in a fresh Node with the package loaded as `cg`: the built
// dist/, or CUDAGRAD_TEST_PKG (the compiled lib/ in the GPU machine's bundle).
export function runNode(code: string, env: Record<string, string> = {}): SpawnSyncReturns<string> {
  const pkg = process.env.CUDAGRAD_TEST_PKG || path.join(root, 'dist');
  const script = `const cg = require(${JSON.stringify(pkg)});\n${code}`;
  return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
}

/** Counts the calls of the named native exports (wrapping them) until restore(). */
export function countCalls(names: string[]): { counts: Record<string, number>; restore(): void } {
  const nat = (require('../lib/native') as typeof import('../lib/native')).native as unknown as Record<string, (...a: unknown[]) => unknown>;
  const counts: Record<string, number> = {};
  const saved = names.map((n) => nat[n]);
  names.forEach((n, i) => {
    counts[n] = 0;
    nat[n] = (...a: unknown[]) => {
      counts[n]++;
      return saved[i](...a);
    };
  });
  return { counts, restore: () => names.forEach((n, i) => (nat[n] = saved[i])) };
}
