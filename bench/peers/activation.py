"""Peers for bench/cases/activation.js: elementwise GELU (tanh) forward and backward."""
import math

import numpy as np
import torch


def make(lib, peer, p):
    n = p["n"]
    if lib == "torch" and peer == "relu_1000x1":
        one = torch.randn(1)

        def calls():
            for _ in range(1000):
                torch.relu(one)
        return calls
    if lib == "torch":
        x = torch.randn(n)
        dout = torch.randn(n)
        if peer == "gelu_fwd":
            return lambda: torch.nn.functional.gelu(x, approximate="tanh")
        if peer == "gelu_bwd":
            return lambda: torch.ops.aten.gelu_backward(dout, x, approximate="tanh")
    if lib == "numpy" and peer == "gelu_fwd":
        x = np.random.randn(n).astype(np.float32)
        k = np.float32(math.sqrt(2 / math.pi))
        return lambda: 0.5 * x * (1 + np.tanh(k * (x + np.float32(0.044715) * x * x * x)))
    return None
