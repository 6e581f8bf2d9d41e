"""Peers for bench/cases/layernorm.js: LayerNorm over the last axis of (rows, C) with weight and bias."""
import numpy as np
import torch


def make(lib, peer, p):
    rows, C = p["rows"], p["C"]
    if lib == "torch":
        x = torch.randn(rows, C)
        dout = torch.randn(rows, C)
        w = torch.randn(C)
        b = torch.randn(C)
        _, mean, rstd = torch.ops.aten.native_layer_norm(x, [C], w, b, 1e-5)
        if peer == "layernorm_fwd":
            return lambda: torch.ops.aten.native_layer_norm(x, [C], w, b, 1e-5)
        if peer == "layernorm_bwd":
            return lambda: torch.ops.aten.native_layer_norm_backward(dout, x, [C], mean, rstd, w, b, [True, True, True])
    if lib == "numpy" and peer == "layernorm_fwd":
        x = np.random.randn(rows, C).astype(np.float32)
        w = np.random.randn(C).astype(np.float32)
        b = np.random.randn(C).astype(np.float32)

        def f():
            m = x.mean(axis=-1, keepdims=True)
            v = x.var(axis=-1, keepdims=True)
            return (x - m) / np.sqrt(v + np.float32(1e-5)) * w + b
        return f
    return None
