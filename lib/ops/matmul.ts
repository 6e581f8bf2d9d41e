// Placeholder: the matmul ops are being written on another branch.
export {};
