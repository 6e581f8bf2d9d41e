"""Peers for bench/cases/optim.js: one AdamW step over n parameters, and the gradient L2 norm."""
import numpy as np
import torch


def make(lib, peer, p):
    n = p["n"]
    if lib == "torch" and peer == "adamw_clip":
        ws = [torch.randn(s, requires_grad=True) for s in p["shapes"]]
        for w in ws:
            w.grad = torch.randn(w.shape) * 0.1
        opt = torch.optim.AdamW(ws, lr=1e-4)

        def step():
            torch.nn.utils.clip_grad_norm_(ws, 1.0)
            opt.step()
        return step
    if lib == "torch":
        w = torch.randn(n, requires_grad=True)
        w.grad = torch.randn(n)
        if peer == "adamw":
            opt = torch.optim.AdamW([w], lr=1e-3)
            return opt.step
        if peer == "grad_norm":
            return lambda: torch.linalg.vector_norm(w.grad)
    if lib == "numpy":
        w = np.random.randn(n).astype(np.float32)
        g = np.random.randn(n).astype(np.float32)
        if peer == "grad_norm":
            return lambda: np.linalg.norm(g)
        if peer == "adamw":
            m = np.zeros(n, np.float32)
            v = np.zeros(n, np.float32)
            state = {"t": 0}
            lr, b1, b2, eps, wd = 1e-3, 0.9, 0.999, 1e-8, 1e-2

            def step():
                state["t"] += 1
                t = state["t"]
                w[:] *= np.float32(1 - lr * wd)
                m[:] = b1 * m + (1 - b1) * g
                v[:] = b2 * v + (1 - b2) * g * g
                w[:] -= np.float32(lr / (1 - b1 ** t)) * m / (np.sqrt(v) / np.float32(np.sqrt(1 - b2 ** t)) + np.float32(eps))
            return step
    return None
