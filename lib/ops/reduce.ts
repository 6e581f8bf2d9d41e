// Placeholder: the reduce ops are being written on another branch.
export {};
