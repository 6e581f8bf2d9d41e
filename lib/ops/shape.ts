// Placeholder: the shape ops are being written on another branch.
export {};
