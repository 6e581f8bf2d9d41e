"""Peers for bench/cases/attention.js: PyTorch's UNFUSED causal attention
softmax(Q K^T * scale + causal mask) V. 'fwdbwd' times forward and autograd
backward together (q, k, v require grad; grads reset to None each call, as a
training step would); 'fwd' times the forward under no_grad."""
import math

import torch


def make(lib, peer, p):
    if lib != "torch":
        return None
    B, H, T, D = p["B"], p["H"], p["T"], p["D"]
    scale = 1 / math.sqrt(D)
    q = torch.randn(B, H, T, D, requires_grad=True)
    k = torch.randn(B, H, T, D, requires_grad=True)
    v = torch.randn(B, H, T, D, requires_grad=True)
    dout = torch.randn(B, H, T, D)
    future = torch.ones(T, T, dtype=torch.bool).triu(1)

    def forward():
        s = (q @ k.transpose(-2, -1)) * scale
        s = s.masked_fill(future, float("-inf"))
        return torch.softmax(s, dim=-1) @ v

    if peer == "fwdbwd":

        def fwdbwd():
            with torch.enable_grad():
                q.grad = k.grad = v.grad = None
                forward().backward(dout)

        return fwdbwd
    if peer == "fwd":

        def fwd():
            with torch.no_grad():
                forward()

        return fwd
    return None
