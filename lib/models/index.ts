// cudagrad.models: ready-made model families built from cudagrad.nn.
export * from './gpt/index';
export { Seq2Seq, sinusoidalEncoding } from './seq2seq';
export type { GreedyOptions, Seq2SeqForwardOptions, Seq2SeqOptions } from './seq2seq';
export type { BeamSearchOptions } from './seq2seq-beam';
