// Placeholder: the loss ops are being written on another branch.
export {};
