// Placeholder: the optim ops are being written on another branch.
export {};
