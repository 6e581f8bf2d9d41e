// Placeholder: the elementwise ops are being written on another branch.
export {};
