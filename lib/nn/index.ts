// cudagrad.nn: modules (layers with parameters) in PyTorch's style.
export { Module } from './module';
export type { LoadStateDictOptions, LoadStateDictResult } from './module';
export { Dropout, Embedding, Flatten, GELU, LayerNorm, Linear, ReLU, Sequential, Sigmoid, Tanh } from './layers';
export type { EmbeddingOptions, LayerNormOptions, LinearOptions } from './layers';
export { clipGradNorm } from './utils';
export { MultiheadAttention } from './attention';
export type { AttentionMaskOptions, KeyPaddingMask, MultiheadAttentionOptions } from './attention';
export { TransformerDecoderLayer, TransformerEncoderLayer } from './transformer-layers';
export type { ActivationSpec, DecoderLayerForwardOptions, EncoderLayerForwardOptions, TransformerLayerOptions } from './transformer-layers';
export { DecoderCache, ModuleList, Transformer, TransformerDecoder, TransformerEncoder } from './transformer';
export type { EncoderForwardOptions, StackOptions, TransformerForwardOptions, TransformerOptions } from './transformer';
