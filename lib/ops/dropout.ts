// Placeholder: the dropout ops are being written on another branch.
export {};
