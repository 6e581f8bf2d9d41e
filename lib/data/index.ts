// cudagrad.data: IDX reading and MNIST-format datasets.
export { parseIdx, readIdx } from './idx';
export type { Idx, IdxArray } from './idx';
export { FASHION_MNIST_DIR, fashionMnistDir, loadMnist, readIdxPair, shippedMnistDir } from './mnist';
export type { MnistData, MnistOptions, Split } from './mnist';
