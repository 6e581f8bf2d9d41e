// cudagrad.keras: a Keras-style API over nn and optim: sequential([dense(...)]),
// compile, fit (progress bar, callbacks), evaluate, predict, save / loadModel.
export { Sequential, sequential } from './model';
export type { CompileConfig, LossName, OptimizerName, SequentialConfig } from './model';
export { Dense, Dropout, Flatten, Layer, Rescaling, dense, dropout, flatten, rescaling } from './layers';
export type { ActivationName, DenseConfig, DropoutConfig, Initializer, LayerConfig, RescalingConfig } from './layers';
export { EarlyStopping, ModelCheckpoint, earlyStopping, modelCheckpoint } from './callbacks';
export type { Callback, CallbackModel, EarlyStoppingConfig, ModelCheckpointConfig } from './callbacks';
export { Progress } from './progress';
export type { Logs, ProgressStream } from './progress';
export type { EvaluateOptions, FitOptions, History, PredictOptions, XData, YData } from './training';
export { loadModel, modelFromConfig } from './save';
export type { CheckpointState, ModelConfig } from './save';
