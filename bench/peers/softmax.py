"""Peers for bench/cases/softmax.js: softmax / log-softmax over the last axis of (rows, C)."""
import numpy as np
import torch


def make(lib, peer, p):
    shape = (p["rows"], p["C"])
    if lib == "torch":
        x = torch.randn(shape)
        dout = torch.randn(shape)
        y = torch.softmax(x, -1)
        if peer == "softmax_fwd":
            return lambda: torch.softmax(x, -1)
        if peer == "log_softmax_fwd":
            return lambda: torch.log_softmax(x, -1)
        if peer == "softmax_bwd":
            return lambda: torch._softmax_backward_data(dout, y, -1, torch.float32)
    if lib == "numpy":
        x = np.random.randn(*shape).astype(np.float32)
        if peer == "softmax_fwd":
            def f():
                e = np.exp(x - x.max(axis=-1, keepdims=True))
                return e / e.sum(axis=-1, keepdims=True)
            return f
        if peer == "log_softmax_fwd":
            def g():
                z = x - x.max(axis=-1, keepdims=True)
                return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
            return g
    return None
