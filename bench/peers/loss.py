"""Peers for bench/cases/loss.js: cross-entropy (mean) over logits (N, C), forward and forward + backward (autograd)."""
import torch
import torch.nn.functional as F


def make(lib, peer, p):
    if lib != "torch":
        return None
    N, C = p["N"], p["C"]
    x = torch.randn(N, C)
    t = torch.arange(N) * 7919 % C
    if peer == "ce_fwd":
        return lambda: F.cross_entropy(x, t)
    if peer == "ce_fwdbwd":
        xg = x.clone().requires_grad_()

        def f():
            with torch.enable_grad():
                xg.grad = None
                F.cross_entropy(xg, t).backward()
        return f
    return None
