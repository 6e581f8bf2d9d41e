"""Peers for bench/cases/cast.js: float32 <-> bfloat16 conversion."""
import torch


def make(lib, peer, p):
    if lib != "torch":
        return None
    x = torch.randn(p["n"])
    if peer == "to_bf16":
        return lambda: x.to(torch.bfloat16)
    if peer == "to_f32":
        h = x.to(torch.bfloat16)
        return lambda: h.to(torch.float32)
    return None
