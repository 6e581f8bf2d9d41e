"""Peers for bench/cases/elementwise.js: same-shape add, bias-broadcast add,
sum over the last axis, and the (B, T, H, D) -> (B, H, T, D) permute made
contiguous."""
import numpy as np
import torch


def make(lib, peer, p):
    if peer == "add":
        n = p["n"]
        if lib == "torch":
            a, b = torch.randn(n), torch.randn(n)
            return lambda: torch.add(a, b)
        a, b = np.random.randn(n).astype(np.float32), np.random.randn(n).astype(np.float32)
        return lambda: np.add(a, b)
    if peer in ("add_bias", "sum_last"):
        m, n = p["M"], p["N"]
        if lib == "torch":
            x, bias = torch.randn(m, n), torch.randn(n)
            return (lambda: torch.add(x, bias)) if peer == "add_bias" else (lambda: torch.sum(x, -1))
        x, bias = np.random.randn(m, n).astype(np.float32), np.random.randn(n).astype(np.float32)
        return (lambda: np.add(x, bias)) if peer == "add_bias" else (lambda: np.sum(x, axis=-1))
    if peer == "permute":
        shape = p["shape"]
        if lib == "torch":
            x = torch.randn(*shape)
            return lambda: x.permute(0, 2, 1, 3).contiguous()
        x = np.random.randn(*shape).astype(np.float32)
        return lambda: np.ascontiguousarray(x.transpose(0, 2, 1, 3))
    return None
