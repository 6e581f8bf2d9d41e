// Every op family, re-exported flat on the cudagrad namespace.
export * from './activation';
