// Every op family, re-exported flat on the cudagrad namespace.
export * from './activation';
export * from './matmul';
export * from './attention';
export * from './elementwise';
export * from './compare';
export * from './reduce';
export * from './shape';
export * from './softmax';
export * from './layernorm';
export * from './loss';
export * from './embedding';
export * from './dropout';
export * from './optim';
export * from './view';
export * from './cast';
