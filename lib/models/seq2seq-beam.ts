// Beam search for models.Seq2Seq. Each source keeps beamSize live hypotheses
// (rows of one decoder batch of B * beamSize, sharing the source's memory);
// every step extends each by every token, keeps the best beamSize that do not
// end, and sets aside those that end with eosId, scored by their summed
// log-probability divided by length^lengthPenalty (the length counts eosId).
// A source is done once its beamSize best finished hypotheses all score at
// least the best live one's score normalised by the current length (the usual
// heuristic: log-probabilities only fall); at maxNewTokens the live ones count
// as finished too. The decoder cache is
// reordered to follow the surviving beams (self-attention keys and values
// only: a beam never changes source); cross-attention keys and values of the
// memory are computed once, for the expanded batch.
import { tensor } from '../creation';
import { describe, rangeError, typeError } from '../errors';
import { logSoftmax } from '../ops/softmax';
import { tidy } from '../scope';
import { Tensor } from '../tensor';
import { gatherRows } from '../nn/transformer';
import type { GreedyOptions, Seq2Seq } from './seq2seq';

export interface BeamSearchOptions extends Omit<GreedyOptions, 'useCache'> {
  /** Hypotheses kept per sequence (default 4). */
  beamSize?: number;
  /** Finished scores are divided by length^lengthPenalty (default 1; 0: raw log-probability). */
  lengthPenalty?: number;
}

interface Hyp {
  tokens: number[];
  score: number;
}

// The best `k` (score, beam, token) candidates of one source, by score, descending.
function topCandidates(logp: Float32Array, rows: number[], scores: number[], V: number, k: number): [number, number, number][] {
  const best: [number, number, number][] = [];
  rows.forEach((row, beam) => {
    if (scores[beam] === -Infinity) return;
    for (let v = 0; v < V; v++) {
      const s = scores[beam] + logp[row * V + v];
      if (best.length === k && !(s > best[k - 1][0])) continue;
      let i = best.length < k ? best.length : k - 1;
      while (i > 0 && best[i - 1][0] < s) i--;
      best.splice(i, 0, [s, beam, v]);
      if (best.length > k) best.pop();
    }
  });
  return best;
}

export function beamSearch(model: Seq2Seq, src: Tensor, opts: BeamSearchOptions): number[][] {
  const fn = 'models.Seq2Seq.beamSearch';
  const o = model.decodeOptions(fn, src, opts as GreedyOptions, ['beamSize', 'lengthPenalty']);
  if (o.useCache !== undefined) throw typeError(fn, 'unknown option \'useCache\' (beam search always uses the cache)');
  const K = o.beamSize ?? 4;
  if (typeof K !== 'number' || !Number.isSafeInteger(K) || K < 1) throw rangeError(fn, `beamSize must be an integer >= 1, got ${describe(K)}`);
  const alpha = o.lengthPenalty ?? 1;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw typeError(fn, `lengthPenalty must be a finite number, got ${describe(alpha)}`);
  const { bosId, eosId } = o;
  const maxNew = o.maxNewTokens!;
  const B = src.shape[0];
  const V = model.tgtVocabSize;
  const norm = (score: number, len: number) => score / Math.max(1, len) ** alpha;

  return model.inference(() => {
    const enc = model.encodeForDecoding(fn, src, o.srcKeyPaddingMask);
    // Each source's memory and mask repeated beamSize times: rows b * K .. b * K + K - 1.
    const { memory, mask } = tidy(() => {
      const idx = tensor(Int32Array.from({ length: B * K }, (_, i) => Math.floor(i / K)), { device: src.device });
      return { memory: gatherRows(enc.memory, idx), mask: enc.mask && gatherRows(enc.mask, idx) };
    });
    enc.memory.dispose();
    enc.mask?.dispose();
    const cache = model.transformer.decoder.createCache(memory, { memoryKeyPaddingMask: mask });
    memory.dispose();
    mask?.dispose();
    // Live beams: only the first of each source at the start (the others would repeat it).
    const live: Hyp[][] = Array.from({ length: B }, () => Array.from({ length: K }, (_, k) => ({ tokens: [], score: k === 0 ? 0 : -Infinity })));
    const finished: Hyp[][] = Array.from({ length: B }, () => []);
    const done = new Array<boolean>(B).fill(false);
    let tokens = new Int32Array(B * K).fill(bosId);
    try {
      for (let t = 0; t < maxNew && !done.every(Boolean); t++) {
        const logp = tidy(() => logSoftmax(model.stepLogits(tokens, t, cache), -1).toArray() as Float32Array);
        const parent = Array.from({ length: B * K }, (_, i) => i);
        const next = new Int32Array(B * K).fill(eosId);
        for (let b = 0; b < B; b++) {
          if (done[b]) continue;
          const rows = Array.from({ length: K }, (_, k) => b * K + k);
          const beams = live[b];
          const survivors: Hyp[] = [];
          for (const [s, k, v] of topCandidates(logp, rows, beams.map((h) => h.score), V, 2 * K)) {
            if (v === eosId) {
              finished[b].push({ tokens: beams[k].tokens, score: norm(s, t + 1) });
              continue;
            }
            parent[b * K + survivors.length] = b * K + k;
            next[b * K + survivors.length] = v;
            survivors.push({ tokens: [...beams[k].tokens, v], score: s });
            if (survivors.length === K) break;
          }
          while (survivors.length < K) survivors.push({ tokens: [], score: -Infinity });
          live[b] = survivors;
          // Keep the best K finished; done when none of the live ones is likely to beat them.
          finished[b].sort((x, y) => y.score - x.score).splice(K);
          const full = finished[b].length >= K && finished[b][K - 1].score >= norm(survivors[0].score, t + 1);
          if (full || survivors[0].score === -Infinity) done[b] = true;
        }
        if (parent.some((p, i) => p !== i)) cache.reorder(parent, { memory: false }); // beams stay with their source
        tokens = next;
      }
    } finally {
      cache.dispose();
    }
    return finished.map((f, b) => {
      const unfinished = done[b] ? [] : live[b].filter((h) => h.score > -Infinity).map((h) => ({ tokens: h.tokens, score: norm(h.score, h.tokens.length) }));
      const all = [...f, ...unfinished];
      all.sort((x, y) => y.score - x.score);
      return all.length ? all[0].tokens : [];
    });
  });
}
