// Synthetic sequence-to-sequence tasks generated on the fly, for
// `cudagrad train seq2seq` and tests: reverse or sort a random digit sequence,
// or add two numbers. Tokens: 0 padding, 1 begin, 2 end, 3..12 the digits
// 0..9, 13 '+'. Examples come from a seeded generator (mulberry32), so runs
// repeat. Every source belongs to the training or the held-out split by a hash
// of its tokens (1 in 10 held out): training batches never contain a held-out
// source, so held-out accuracy measures generalisation, not recall.
import { tensor } from '../creation';
import type { Device } from '../device';
import { Tensor } from '../tensor';

export const PAD = 0;
export const BOS = 1;
export const EOS = 2;
export const DIGIT0 = 3;
export const PLUS = 13;
export const TASK_VOCAB_SIZE = 14;

export type TaskName = 'reverse' | 'sort' | 'add';
export const TASKS: readonly TaskName[] = ['reverse', 'sort', 'add'];

export interface TaskOptions {
  task: TaskName;
  /** reverse, sort: sequence lengths in [minLen, maxLen] (default 5, 20). */
  minLen?: number;
  maxLen?: number;
  /** add: operands of 1 .. digits digits (default 5). */
  digits?: number;
}

export interface Example {
  src: number[];
  tgt: number[];
}

export interface Batch {
  /** (B, S) source tokens, padded with PAD. */
  src: Tensor;
  /** (B, T + 1) decoder input: BOS then the target, padded. */
  tgtIn: Tensor;
  /** (B * (T + 1)) expected outputs: the target then EOS, PAD elsewhere (ignored by the loss). */
  tgtOut: Tensor;
}

/** mulberry32: a small seeded generator of uniform numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** True for sources of the held-out split (FNV-1a hash of the tokens, 1 in 10). */
export function isHeldOut(src: readonly number[]): boolean {
  let h = 0x811c9dc5;
  for (const v of src) h = Math.imul(h ^ v, 0x01000193) >>> 0;
  return h % 10 === 0;
}

const digitsOf = (n: number) => String(n).split('').map((c) => DIGIT0 + Number(c));

/** One example of the task (either split). */
export function makeExample(o: TaskOptions, rnd: () => number): Example {
  const randInt = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  if (o.task === 'add') {
    const D = o.digits ?? 5;
    const num = () => {
      const n = randInt(1, D);
      return n === 1 ? randInt(0, 9) : randInt(10 ** (n - 1), 10 ** n - 1);
    };
    const a = num();
    const b = num();
    return { src: [...digitsOf(a), PLUS, ...digitsOf(b)], tgt: digitsOf(a + b) };
  }
  const L = randInt(o.minLen ?? 5, o.maxLen ?? 20);
  const src = Array.from({ length: L }, () => DIGIT0 + randInt(0, 9));
  const tgt = o.task === 'reverse' ? [...src].reverse() : [...src].sort((x, y) => x - y);
  return { src, tgt };
}

/** Examples of one split: the held-out one, or training (held-out sources rejected). */
export function makeExamples(o: TaskOptions, n: number, rnd: () => number, heldOut: boolean): Example[] {
  const out: Example[] = [];
  for (let tries = 0; out.length < n; tries++) {
    if (tries > 1000 * (n + 10)) throw new Error(`cannot draw ${n} ${heldOut ? 'held-out' : 'training'} examples of task ${o.task}: too few distinct sources`);
    const e = makeExample(o, rnd);
    if (isHeldOut(e.src) === heldOut) out.push(e);
  }
  return out;
}

/** Padded tensors for a batch of examples. */
export function makeBatch(examples: readonly Example[], device?: Device): Batch {
  const B = examples.length;
  const S = Math.max(...examples.map((e) => e.src.length));
  const T = Math.max(...examples.map((e) => e.tgt.length)) + 1;
  const src = new Int32Array(B * S);
  const tgtIn = new Int32Array(B * T);
  const tgtOut = new Int32Array(B * T);
  examples.forEach((e, b) => {
    src.set(e.src, b * S);
    tgtIn.set([BOS, ...e.tgt], b * T);
    tgtOut.set([...e.tgt, EOS], b * T);
  });
  return {
    src: tensor(src, { shape: [B, S], device }),
    tgtIn: tensor(tgtIn, { shape: [B, T], device }),
    tgtOut: tensor(tgtOut, { shape: [B * T], device }),
  };
}

/** Human-readable tokens: digits, '+', and <pad>/<s>/</s>. */
export function detokenize(tokens: readonly number[]): string {
  return tokens.map((v) => (v >= DIGIT0 && v < DIGIT0 + 10 ? String(v - DIGIT0) : v === PLUS ? '+' : v === PAD ? '_' : v === BOS ? '<s>' : v === EOS ? '</s>' : `?${v}`)).join('');
}
