// Loading a trained GPT with its tokenizer for generation and fine-tuning:
// from a model folder (config.json + model.safetensors) or a training checkpoint.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { defaultDevice } from '../../device';
import type { Device } from '../../device';
import { readSafetensors } from '../../io/safetensors';
import { GPT } from './model';
import { tokenizerFromJSON } from './tokenizer';
import type { Tokenizer } from './tokenizer';

/**
 * A trained GPT and its tokenizer from a model folder (config.json +
 * model.safetensors, as train gpt and savePretrained write them, or a Hugging
 * Face GPT-2 folder), or from a training checkpoint (a checkpoint.safetensors
 * file or a folder holding only one; in a folder with both, whichever was
 * written last).
 */
export function loadGPT(p: string, device?: Device): { model: GPT; tokenizer: Tokenizer } {
  if (!fs.existsSync(p)) throw new Error(`${p} does not exist`);
  const isDir = fs.statSync(p).isDirectory();
  // A folder with a model and a newer checkpoint (a later run in it, stopped early): the checkpoint.
  const mtime = (f: string) => (fs.existsSync(path.join(p, f)) ? fs.statSync(path.join(p, f)).mtimeMs : -Infinity);
  const newerCheckpoint = isDir && mtime('checkpoint.safetensors') > Math.max(mtime('model.safetensors'), mtime('config.json'));
  if (!isDir || !fs.existsSync(path.join(p, 'config.json')) || newerCheckpoint) {
    const file = isDir ? path.join(p, 'checkpoint.safetensors') : p;
    if (!fs.existsSync(file)) throw new Error(`${p} holds neither config.json + model.safetensors nor checkpoint.safetensors`);
    const { tensors, metadata } = readSafetensors(file, { device: 'cpu' });
    try {
      const meta = JSON.parse(metadata['cudagrad.checkpoint'] ?? 'null') as { extra?: { config?: object; tokenizer?: unknown } } | null;
      if (!meta?.extra?.config) {
        if (!isDir && !metadata['cudagrad.checkpoint']) {
          const model = GPT.fromPretrained(file, { device });
          if (!model.tokenizer) throw new Error(`${file}: no tokenizer is known for a vocabulary of ${model.config.vocabSize}`);
          return { model, tokenizer: model.tokenizer };
        }
        throw new Error(`${file} is not a checkpoint of cudagrad train gpt`);
      }
      const model = new GPT({ ...(meta.extra.config as GPT['config']), device: device ?? defaultDevice() });
      const dict: Record<string, (typeof tensors)[string]> = {};
      for (const [k, t] of Object.entries(tensors)) if (k.startsWith('model.')) dict[k.slice(6)] = t;
      model.loadStateDict(dict);
      return { model, tokenizer: tokenizerFromJSON(meta.extra.tokenizer) };
    } finally {
      Object.values(tensors).forEach((t) => t.dispose());
    }
  }
  const model = GPT.fromPretrained(p, { device });
  if (!model.tokenizer) throw new Error(`${p}/config.json names no tokenizer (and the vocabulary is not GPT-2's)`);
  return { model, tokenizer: model.tokenizer };
}
