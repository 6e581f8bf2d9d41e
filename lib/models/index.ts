// cudagrad.models: complete models built from cudagrad.nn.
export { Seq2Seq, sinusoidalEncoding } from './seq2seq';
export type { GreedyOptions, Seq2SeqForwardOptions, Seq2SeqOptions } from './seq2seq';
export type { BeamSearchOptions } from './seq2seq-beam';
