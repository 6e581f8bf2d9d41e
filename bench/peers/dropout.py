"""Peers for bench/cases/dropout.js: dropout forward in training mode."""
import torch
import torch.nn.functional as F


def make(lib, peer, p):
    if lib == "torch" and peer == "dropout_fwd":
        x = torch.randn(p["n"])
        return lambda: F.dropout(x, p["p"], training=True)
    return None
