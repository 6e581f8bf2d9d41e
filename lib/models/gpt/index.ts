// cudagrad.models GPT family: the model, its tokenizers, generation and fine-tuning heads.
export { GPT } from './model';
export type { GPTConfig, GPTOptions, GPTOutput, KVCache } from './model';
export { CharTokenizer, GPT2Tokenizer, TextStream, tokenizerFromJSON } from './tokenizer';
export type { Tokenizer, TokenizerJSON } from './tokenizer';
export type { PretrainedOptions, StateDictFormat } from './hf';
export { generate, sampleToken } from './generate';
export type { GenerateOptions } from './generate';
export { GPTForSequenceClassification } from './classify';
export type { ClassifierOptions, ClassifierOutput } from './classify';
export { shakespearePlays } from './tasks';
export type { Example, Task } from './tasks';
