// cudagrad.models: ready-made model families.
export * from './gpt/index';
