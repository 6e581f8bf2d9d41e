// Placeholder: the embedding ops are being written on another branch.
export {};
