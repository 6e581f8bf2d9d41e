// GPTForSequenceClassification (Hugging Face's GPT2ForSequenceClassification):
// a GPT's transformer followed by a linear 'score' head (nEmbd -> numLabels,
// no bias) on the hidden state of each sequence's last non-padding token
// (causal attention: it has seen the whole sequence). Built on a pre-trained
// GPT, whose transformer parameters it shares and fine-tunes.
// Parameter names: 'transformer.*' as the GPT's, plus 'score.weight'.
import { tensor, randn } from '../../creation';
import { checkOptions, describe, rangeError, typeError } from '../../errors';
import { crossEntropy } from '../../ops/loss';
import { linear } from '../../ops/matmul';
import { gather } from '../../ops/shape';
import { Tensor } from '../../tensor';
import { GPTModule } from './blocks';
import type { Transformer } from './blocks';
import { GPT } from './model';
import type { GPTOptions } from './model';

export interface ClassifierOptions {
  numLabels: number;
  /** Token id used for right padding: a row's last non-padding token is the one before its first pad. */
  padTokenId?: number | null;
}

export interface ClassifierOutput {
  /** (B, numLabels) */
  logits: Tensor;
  /** Mean cross-entropy against labels, when given. */
  loss: Tensor | null;
}

export class GPTForSequenceClassification extends GPTModule {
  readonly gpt: GPT;
  readonly transformer: Transformer;
  readonly numLabels: number;
  readonly padTokenId: number | null;

  /** A classifier over `gpt` (shared parameters) or over a new GPT of the given config. */
  constructor(gpt: GPT | GPTOptions, opts: ClassifierOptions) {
    super();
    const fn = 'models.GPTForSequenceClassification';
    const o = checkOptions(fn, opts, ['numLabels', 'padTokenId']);
    if (!Number.isSafeInteger(o.numLabels) || (o.numLabels as number) < 1) throw rangeError(fn, `numLabels must be an integer >= 1, got ${describe(o.numLabels)}`);
    this.numLabels = o.numLabels as number;
    this.padTokenId = (o.padTokenId as number | null | undefined) ?? null;
    this.gpt = gpt instanceof GPT ? gpt : new GPT(gpt);
    this.transformer = this.child('transformer', this.gpt.transformer);
    this.child('score', new Score(this.gpt.config.nEmbd, this.numLabels, this.gpt.lmHead.device));
  }

  get score(): Tensor {
    return this.stateDict()['score.weight'];
  }

  /** Index of each row's last non-padding token (lengths - 1, or from padTokenId, else the last position). */
  lastIndex(idx: Tensor, lengths?: readonly number[]): number[] {
    const fn = 'models.GPTForSequenceClassification.forward';
    const [B, T] = idx.shape;
    if (lengths) {
      if (!Array.isArray(lengths) || lengths.length !== B) throw typeError(fn, `lengths must be an array of ${B} integers, got ${describe(lengths)}`);
      return lengths.map((n, i) => {
        if (!Number.isSafeInteger(n) || n < 1 || n > T) throw rangeError(fn, `lengths[${i}] = ${describe(n)} is not in [1, ${T}]`);
        return n - 1;
      });
    }
    if (this.padTokenId === null) return new Array<number>(B).fill(T - 1);
    const ids = idx.toArray();
    return Array.from({ length: B }, (_, b) => {
      let t = 0;
      while (t < T && ids[b * T + t] !== this.padTokenId) t++;
      return Math.max(0, t - 1);
    });
  }

  /** idx int32 (B, T), right-padded -> logits (B, numLabels); loss with labels (B) int32. */
  forward(idx: Tensor, opts: { labels?: Tensor | null; lengths?: readonly number[] } = {}): ClassifierOutput {
    const fn = 'models.GPTForSequenceClassification.forward';
    const o = checkOptions(fn, opts, ['labels', 'lengths']);
    const last = this.lastIndex(this.gpt.checkIdx(fn, idx), o.lengths as number[] | undefined);
    const h = this.gpt.hidden(idx); // (B, T, C)
    const [B, , C] = h.shape;
    const index = tensor(Int32Array.from({ length: B * C }, (_, i) => last[Math.floor(i / C)]), { shape: [B, 1, C], device: h.device });
    const pooled = gather(h, 1, index).reshape(B, C); // (B, C): h[b, last[b], :]
    const logits = linear(pooled, this.score);
    const labels = o.labels as Tensor | null | undefined;
    if (labels === undefined || labels === null) return { logits, loss: null };
    if (!(labels instanceof Tensor) || labels.dtype !== 'int32' || labels.ndim !== 1 || labels.shape[0] !== B)
      throw typeError(fn, `labels must be an int32 Tensor of shape [${B}], got ${labels instanceof Tensor ? labels.describe() : describe(labels)}`);
    return { logits, loss: crossEntropy(logits, labels) };
  }
}

class Score extends GPTModule {
  constructor(C: number, L: number, device: Tensor['device']) {
    super();
    this.registerParameter('weight', randn([L, C], { std: 0.02, device })); // (numLabels, nEmbd)
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.param('weight')!);
  }
}
