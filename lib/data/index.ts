// cudagrad.data: IDX reading and MNIST-format datasets.
export { parseIdx, readIdx } from './idx';
export type { Idx, IdxArray } from './idx';
export { FASHION_MNIST_DIR, fashionMnistDir, loadMnist, readIdxPair, shippedMnistDir } from './mnist';
export type { MnistData, MnistOptions, Split } from './mnist';
export { BOS, DIGIT0, EOS, PAD, PLUS, TASKS, TASK_VOCAB_SIZE, detokenize, isHeldOut, makeBatch, makeExample, makeExamples, mulberry32 } from './tasks';
export type { Batch, Example, TaskName, TaskOptions } from './tasks';
