// Placeholder: the attention ops are being written on another branch.
export {};
