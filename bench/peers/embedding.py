"""Peers for bench/cases/embedding.js: embedding lookup and its dense backward (scatter-add)."""
import numpy as np
import torch
import torch.nn.functional as F


def make(lib, peer, p):
    N, V, C = p["N"], p["V"], p["C"]
    idx = torch.arange(N) * 7919 % V
    if lib == "torch":
        w = torch.randn(V, C)
        dout = torch.randn(N, C)
        if peer == "emb_fwd":
            return lambda: F.embedding(idx, w)
        if peer == "emb_bwd":
            return lambda: torch.ops.aten.embedding_dense_backward(dout, idx, V, -1, False)
    if lib == "numpy":
        w = np.random.randn(V, C).astype(np.float32)
        dout = np.random.randn(N, C).astype(np.float32)
        i = idx.numpy()
        if peer == "emb_fwd":
            return lambda: w[i]
        if peer == "emb_bwd":
            def f():
                dw = np.zeros((V, C), np.float32)
                np.add.at(dw, i, dout)
                return dw
            return f
    return None
