// cudagrad.nn: modules (layers with parameters) in PyTorch's style.
export { Module } from './module';
export type { LoadStateDictOptions, LoadStateDictResult } from './module';
export { Dropout, Embedding, Flatten, GELU, LayerNorm, Linear, ReLU, Sequential, Sigmoid, Tanh } from './layers';
export type { EmbeddingOptions, LayerNormOptions, LinearOptions } from './layers';
export { clipGradNorm } from './utils';
