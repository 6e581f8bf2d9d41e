// cudagrad.io: safetensors files, atomic writes and training checkpoints.
export { decodeSafetensors, encodeSafetensors, loadSafetensors, readSafetensors, saveSafetensors } from './safetensors';
export type { LoadOptions, Metadata } from './safetensors';
export { loadCheckpoint, saveCheckpoint } from './checkpoint';
export type { CheckpointInfo, CheckpointParts, LoadCheckpointOptions } from './checkpoint';
export { writeFileAtomic } from './atomic';
