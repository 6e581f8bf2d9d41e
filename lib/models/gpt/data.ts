// Text data for GPT training: a file's tokens split 90/10 into train and
// validation, random training batches of blockSize windows (offsets drawn
// from a counter-based hash of (seed, step, row), so a run and its resumption
// see the same batches without carrying generator state), and validation
// loss over fixed, non-overlapping windows.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { noGrad } from '../../autograd';
import { tensor } from '../../creation';
import type { Device } from '../../device';
import { rangeError } from '../../errors';
import { tidy } from '../../scope';
import { Tensor } from '../../tensor';
import type { GPT } from './model';
import { CharTokenizer } from './tokenizer';
import type { Tokenizer } from './tokenizer';

/** The tiny Shakespeare corpus shipped in the package's data/ folder. */
export const SHAKESPEARE = path.join(__dirname, '..', '..', '..', 'data', 'tinyshakespeare.txt');

export interface TextData {
  file: string;
  tokenizer: Tokenizer;
  train: Int32Array;
  val: Int32Array;
}

/** Reads and encodes `file` (char tokenizer over its characters unless one is given); 90% train, 10% validation. */
export function loadText(file: string, tokenizer?: Tokenizer | null, valFraction = 0.1): TextData {
  const fn = 'cudagrad train gpt';
  if (!fs.existsSync(file)) throw rangeError(fn, `data file ${file} does not exist`);
  const text = fs.readFileSync(file, 'utf8');
  const tok = tokenizer ?? CharTokenizer.fromText(text);
  const ids = tok instanceof CharTokenizer ? tok.encodeArray(text) : Int32Array.from(tok.encode(text));
  const n = Math.floor(ids.length * (1 - valFraction));
  return { file, tokenizer: tok, train: ids.subarray(0, n), val: ids.subarray(n) };
}

// 32-bit hash of three words (murmur3's finaliser over a combination).
function hash3(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35) ^ Math.imul(c ^ 0x165667b1, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Start offsets of training step `step`'s B windows of length T + 1 in n tokens. */
export function batchOffsets(seed: number, step: number, B: number, n: number, T: number): number[] {
  const range = n - T;
  if (range < 1) throw rangeError('cudagrad train gpt', `the training split has ${n} tokens, too few for blockSize ${T} (needs at least ${T + 1})`);
  return Array.from({ length: B }, (_, i) => hash3(seed, step, i) % range);
}

/** Inputs x and next-token targets y, int32 (B, T), for windows at `offsets`. */
export function makeBatch(data: Int32Array, offsets: readonly number[], T: number, device?: Device): { x: Tensor; y: Tensor } {
  const B = offsets.length;
  const xs = new Int32Array(B * T);
  const ys = new Int32Array(B * T);
  offsets.forEach((o, b) => {
    xs.set(data.subarray(o, o + T), b * T);
    ys.set(data.subarray(o + 1, o + T + 1), b * T);
  });
  return { x: tensor(xs, { shape: [B, T], device }), y: tensor(ys, { shape: [B, T], device }) };
}

/**
 * Mean next-token loss over non-overlapping windows of length T of `data`
 * (every window when maxWindows is omitted, else that many spread evenly),
 * in batches of B; eval mode, no gradients.
 */
export function evalLoss(model: GPT, data: Int32Array, T: number, B: number, maxWindows?: number): { loss: number; tokens: number } {
  const count = Math.floor((data.length - 1) / T);
  if (count < 1) throw rangeError('cudagrad train gpt', `the validation split has ${data.length} tokens, too few for blockSize ${T}`);
  const n = maxWindows ? Math.min(count, maxWindows) : count;
  const offsets = Array.from({ length: n }, (_, i) => Math.floor((i * count) / n) * T);
  const wasTraining = model.training;
  model.eval();
  let sum = 0;
  try {
    for (let i = 0; i < n; i += B) {
      const part = offsets.slice(i, i + B);
      sum += noGrad(() =>
        tidy(() => {
          const { x, y } = makeBatch(data, part, T, model.lmHead.device);
          return model.forward(x, y).loss!.item() * part.length;
        }),
      );
    }
  } finally {
    model.train(wasTraining);
  }
  return { loss: sum / n, tokens: n * T };
}
