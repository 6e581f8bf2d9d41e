// Autoregressive generation for GPT, one sequence at a time, with a KV cache:
// each layer keeps the keys and values of the positions seen so far (grown by
// concat along the time axis), so each new token costs one position, not a
// recompute of the whole context. The attention op's bottom-right causal mask
// lets the new query see every cached key and itself.
// Context window: positions are absolute (learned position embeddings), so a
// sequence longer than blockSize cannot slide one token at a time without a
// recompute. When the window is full, the context restarts from its last
// blockSize/2 tokens (one prefill) and the cache grows again. kvCache: false
// recomputes the same window at every step: both give the same tokens.
// Sampling happens on the host over the last position's logits: temperature
// (0 = greedy argmax, deterministic), top-k, top-p (nucleus), from a seeded
// generator (splitmix32), so a seed repeats a sample exactly.
import { noGrad } from '../../autograd';
import { tensor } from '../../creation';
import { checkOptions, describe, rangeError, typeError } from '../../errors';
import { tidy } from '../../scope';
import type { KVCache } from './blocks';
import type { GPT } from './model';

export interface GenerateOptions {
  /** Tokens to generate (default 100). */
  maxNewTokens?: number;
  /** Softmax temperature (default 1); 0 picks the most likely token (greedy). */
  temperature?: number;
  /** Sample among the k most likely tokens only (default: all). */
  topK?: number | null;
  /** Sample among the most likely tokens whose probabilities add up to p (default 1: all). */
  topP?: number;
  /** Seed of the sampler (default 0). */
  seed?: number;
  /** Use the KV cache (default true); false recomputes the context at every step (for comparison). */
  kvCache?: boolean;
  /** Called with each new token as soon as it is chosen (streaming). */
  onToken?: (id: number) => void;
  /** Stop after generating this token (e.g. GPT-2's end-of-text 50256). */
  stopToken?: number | null;
  /** Called with each step's last-position logits (vocabSize) before sampling. */
  onLogits?: (logits: Float32Array) => void;
}

/** A small seeded generator of uniforms in [0, 1) (splitmix32). */
export function sampler(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return (z >>> 0) / 4294967296;
  };
}

/** The next token from one row of logits under temperature / top-k / top-p. */
export function sampleToken(logits: ArrayLike<number>, o: { temperature: number; topK: number | null; topP: number }, rand: () => number): number {
  const V = logits.length;
  if (o.temperature === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  let order = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  if (o.topK !== null && o.topK < V) order = order.slice(0, Math.max(1, o.topK));
  const m = logits[order[0]];
  let probs = order.map((i) => Math.exp((logits[i] - m) / o.temperature));
  let total = probs.reduce((a, b) => a + b, 0);
  if (o.topP < 1) {
    let acc = 0;
    let n = 0;
    while (n < probs.length && (n === 0 || acc < o.topP * total)) acc += probs[n++];
    order = order.slice(0, n);
    probs = probs.slice(0, n);
    total = acc;
  }
  let r = rand() * total;
  for (let i = 0; i < probs.length; i++) {
    r -= probs[i];
    if (r < 0) return order[i];
  }
  return order[order.length - 1];
}

function options(fn: string, opts: GenerateOptions) {
  const o = checkOptions(fn, opts, ['maxNewTokens', 'temperature', 'topK', 'topP', 'seed', 'kvCache', 'onToken', 'stopToken', 'onLogits']) as GenerateOptions;
  const n = o.maxNewTokens ?? 100;
  if (!Number.isSafeInteger(n) || n < 0) throw rangeError(fn, `maxNewTokens must be an integer >= 0, got ${describe(n)}`);
  const temperature = o.temperature ?? 1;
  if (typeof temperature !== 'number' || !(temperature >= 0) || !Number.isFinite(temperature)) throw rangeError(fn, `temperature must be a number >= 0, got ${describe(temperature)}`);
  const topK = o.topK ?? null;
  if (topK !== null && (!Number.isSafeInteger(topK) || topK < 1)) throw rangeError(fn, `topK must be an integer >= 1, got ${describe(topK)}`);
  const topP = o.topP ?? 1;
  if (typeof topP !== 'number' || !(topP > 0 && topP <= 1)) throw rangeError(fn, `topP must be in (0, 1], got ${describe(topP)}`);
  const seed = o.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw rangeError(fn, `seed must be an integer >= 0, got ${describe(seed)}`);
  if (o.onToken !== undefined && typeof o.onToken !== 'function') throw typeError(fn, `onToken must be a function, got ${describe(o.onToken)}`);
  return { n, temperature, topK, topP, seed, kvCache: o.kvCache !== false, onToken: o.onToken, stopToken: o.stopToken ?? null, onLogits: o.onLogits };
}

/**
 * Continues `prompt` (token ids, at least one) with up to maxNewTokens tokens;
 * returns the new tokens. Runs in eval mode without gradients.
 */
export function generate(model: GPT, prompt: readonly number[], opts: GenerateOptions = {}): number[] {
  const fn = 'models.GPT.generate';
  const o = options(fn, opts);
  if (!Array.isArray(prompt) || prompt.length === 0) throw typeError(fn, `prompt must be a non-empty array of token ids, got ${describe(prompt)}`);
  const V = model.config.vocabSize;
  prompt.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= V) throw rangeError(fn, `prompt[${i}] = ${describe(id)} is not a token id in [0, ${V}) (vocabSize)`);
  });
  const block = model.config.blockSize;
  const keep = Math.max(1, Math.floor(block / 2));
  const device = model.lmHead.device;
  const rand = sampler(o.seed);
  const all = [...prompt];
  const out: number[] = [];
  let start = Math.max(0, all.length - block); // first token of the context window
  let cached = 0; // positions of the window in the caches
  const caches: KVCache[] = model.transformer.h.map(() => ({ k: null, v: null }));
  const drop = () => caches.forEach((c) => (c.k?.dispose(), c.v?.dispose(), (c.k = null), (c.v = null)));
  const wasTraining = model.training;
  model.eval();
  try {
    for (let step = 0; step < o.n; step++) {
      if (all.length - start > block) {
        start = all.length - keep;
        drop();
        cached = 0;
      }
      const feed = o.kvCache ? all.slice(start + cached) : all.slice(start);
      const pos = o.kvCache ? cached : 0;
      const old = caches.map((c) => [c.k, c.v]);
      const r = noGrad(() =>
        tidy(() => {
          const idx = tensor(Int32Array.from(feed), { shape: [1, feed.length], device });
          const logits = model.nextLogits(idx, o.kvCache ? { pos, caches } : {});
          return { logits: logits.toArray(), ks: caches.map((c) => c.k), vs: caches.map((c) => c.v) };
        }),
      );
      old.flat().forEach((t) => t && !r.ks.includes(t) && !r.vs.includes(t) && t.dispose());
      if (o.kvCache) cached = all.length - start;
      o.onLogits?.(r.logits as Float32Array);
      const id = sampleToken(r.logits, o, rand);
      all.push(id);
      out.push(id);
      o.onToken?.(id);
      if (id === o.stopToken) break;
    }
  } finally {
    drop();
    model.train(wasTraining);
  }
  return out;
}
