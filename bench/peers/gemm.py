"""Peers for bench/cases/gemm.js: square sgemm (NumPy on OpenBLAS, torch.matmul)
linear + GELU (torch.nn.functional.linear then gelu(tanh); NumPy x @ W.T + b
then the tanh GELU formula), linear with bias (x @ W.T + b) and plain or A^T GEMMs."""
import math

import numpy as np
import torch


def make(lib, peer, p):
    if peer == "sgemm":
        n = p["n"]
        a = np.random.randn(n, n).astype(np.float32)
        b = np.random.randn(n, n).astype(np.float32)
        if lib == "numpy":
            return lambda: a @ b
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        return lambda: torch.matmul(ta, tb)
    if peer == "linear_gelu":
        m, k, n = p["m"], p["k"], p["n"]
        x = np.random.randn(m, k).astype(np.float32)
        w = np.random.randn(n, k).astype(np.float32)
        b = np.random.randn(n).astype(np.float32)
        if lib == "numpy":
            c = np.float32(math.sqrt(2 / math.pi))

            def run():
                y = x @ w.T + b
                return 0.5 * y * (1 + np.tanh(c * (y + np.float32(0.044715) * y * y * y)))

            return run
        tx, tw, tb = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
        return lambda: torch.nn.functional.gelu(torch.nn.functional.linear(tx, tw, tb), approximate="tanh")
    if peer == "linear":  # out = x @ W^T + b
        m, k, n = p["m"], p["k"], p["n"]
        x = np.random.randn(m, k).astype(np.float32)
        w = np.random.randn(n, k).astype(np.float32)
        b = np.random.randn(n).astype(np.float32)
        if lib == "numpy":
            return lambda: x @ w.T + b
        tx, tw, tb = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
        return lambda: torch.nn.functional.linear(tx, tw, tb)
    if peer == "gemm":  # C (m, n) = op(A) @ B, op(A) = A^T when transA (A stored (k, m))
        m, n, k, ta = p["m"], p["n"], p["k"], p.get("transA", False)
        a = np.random.randn(*((k, m) if ta else (m, k))).astype(np.float32)
        b = np.random.randn(k, n).astype(np.float32)
        if lib == "numpy":
            return (lambda: a.T @ b) if ta else (lambda: a @ b)
        tx, tb = torch.from_numpy(a), torch.from_numpy(b)
        return (lambda: tx.t() @ tb) if ta else (lambda: tx @ tb)
    return None
