// Tokenizers for GPT: a character-level one (the sorted set of a corpus's
// characters, as nanoGPT's shakespeare_char) and GPT-2's byte-level BPE
// through the js-tiktoken package ('gpt2' encoding; its ranks ship inside the
// package, so nothing is downloaded). Both serialise to a small JSON object
// stored in model configs and checkpoints.
import { describe, rangeError, typeError } from '../../errors';

export type TokenizerJSON = { type: 'char'; chars: string } | { type: 'gpt2' };

export interface Tokenizer {
  readonly vocabSize: number;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  toJSON(): TokenizerJSON;
}

/** One token per character (Unicode code point); ids are indices into the sorted character set. */
export class CharTokenizer implements Tokenizer {
  readonly chars: string[];
  readonly #index = new Map<string, number>();

  /** The tokenizer over exactly `chars` (a string of distinct characters, or an array of them). */
  constructor(chars: string | readonly string[]) {
    const fn = 'models.CharTokenizer';
    if (typeof chars !== 'string' && !Array.isArray(chars)) throw typeError(fn, `chars must be a string, got ${describe(chars)}`);
    this.chars = typeof chars === 'string' ? Array.from(chars) : [...chars];
    if (this.chars.length === 0) throw rangeError(fn, 'the character set is empty');
    this.chars.forEach((c, i) => {
      if (typeof c !== 'string' || Array.from(c).length !== 1) throw typeError(fn, `chars[${i}] is not a single character: ${describe(c)}`);
      if (this.#index.has(c)) throw rangeError(fn, `character ${JSON.stringify(c)} appears twice in the character set`);
      this.#index.set(c, i);
    });
  }

  /** The tokenizer over the sorted distinct characters of `text`. */
  static fromText(text: string): CharTokenizer {
    if (typeof text !== 'string') throw typeError('models.CharTokenizer.fromText', `text must be a string, got ${describe(text)}`);
    return new CharTokenizer([...new Set(Array.from(text))].sort());
  }

  get vocabSize(): number {
    return this.chars.length;
  }

  encode(text: string): number[] {
    const fn = 'models.CharTokenizer.encode';
    if (typeof text !== 'string') throw typeError(fn, `text must be a string, got ${describe(text)}`);
    const out: number[] = [];
    let pos = 0;
    for (const c of text) {
      const id = this.#index.get(c);
      if (id === undefined)
        throw rangeError(fn, `character ${JSON.stringify(c)} (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) at position ${pos} is not in the tokenizer's ${this.vocabSize}-character vocabulary`);
      out.push(id);
      pos++;
    }
    return out;
  }

  /** Encodes a long text into an Int32Array quickly (same checks as encode). */
  encodeArray(text: string): Int32Array {
    const out = new Int32Array(text.length);
    let n = 0;
    for (const id of this.encode(text)) out[n++] = id;
    return out.subarray(0, n);
  }

  decode(ids: readonly number[]): string {
    const fn = 'models.CharTokenizer.decode';
    let s = '';
    for (const id of ids) {
      const c = this.chars[id];
      if (c === undefined) throw rangeError(fn, `token id ${describe(id)} is out of range [0, ${this.vocabSize})`);
      s += c;
    }
    return s;
  }

  toJSON(): TokenizerJSON {
    return { type: 'char', chars: this.chars.join('') };
  }
}

interface Tiktoken {
  encode(text: string, allowedSpecial?: 'all' | string[], disallowedSpecial?: 'all' | string[]): number[];
  decode(ids: number[]): string;
}

let gpt2Encoder: Tiktoken | null = null;

/** GPT-2's BPE (50257 tokens; <|endoftext|> = 50256) through js-tiktoken. */
export class GPT2Tokenizer implements Tokenizer {
  readonly vocabSize = 50257;
  readonly eotToken = 50256;
  readonly #enc: Tiktoken;

  constructor() {
    if (!gpt2Encoder) {
      // The lite entry point plus only GPT-2's ranks (the full package would load every encoding).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { Tiktoken } = require('js-tiktoken/lite') as { Tiktoken: new (ranks: unknown) => Tiktoken };
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const ranks = require('js-tiktoken/ranks/gpt2') as { default?: unknown };
      gpt2Encoder = new Tiktoken(ranks.default ?? ranks);
    }
    this.#enc = gpt2Encoder;
  }

  /** BPE ids of `text`; '<|endoftext|>' in the text becomes the end-of-text token. */
  encode(text: string): number[] {
    if (typeof text !== 'string') throw typeError('models.GPT2Tokenizer.encode', `text must be a string, got ${describe(text)}`);
    return this.#enc.encode(text, 'all');
  }

  decode(ids: readonly number[]): string {
    for (const id of ids)
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw rangeError('models.GPT2Tokenizer.decode', `token id ${describe(id)} is out of range [0, ${this.vocabSize})`);
    return this.#enc.decode([...ids]);
  }

  toJSON(): TokenizerJSON {
    return { type: 'gpt2' };
  }
}

/** The tokenizer a config's JSON describes. */
export function tokenizerFromJSON(j: unknown): Tokenizer {
  const t = j as TokenizerJSON;
  if (t && t.type === 'char' && typeof t.chars === 'string') return new CharTokenizer(t.chars);
  if (t && t.type === 'gpt2') return new GPT2Tokenizer();
  throw typeError('models.tokenizerFromJSON', `unknown tokenizer ${JSON.stringify(j)}`);
}

/**
 * Streams decoded text token by token: push(id) returns the new text that is
 * complete (a BPE token may end inside a multi-byte character: that part is
 * held back until the next token completes it).
 */
export class TextStream {
  readonly #ids: number[] = [];
  #emitted = 0;
  constructor(private readonly tok: Tokenizer) {}
  push(id: number): string {
    this.#ids.push(id);
    const text = this.tok.decode(this.#ids);
    const end = text.endsWith('\uFFFD') ? text.length - 1 : text.length;
    if (end <= this.#emitted) return '';
    const out = text.slice(this.#emitted, end);
    this.#emitted = end;
    return out;
  }
  flush(): string {
    const text = this.tok.decode(this.#ids);
    const out = text.slice(this.#emitted);
    this.#emitted = text.length;
    return out;
  }
}
