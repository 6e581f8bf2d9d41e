"""PyTorch peer of bench/device/gpt.js on the same GPU: nanoGPT's GPT-2 model
(pre-LN blocks, tied LM head, GPT-2 init) with scaled_dot_product_attention
(causal), bf16 autocast, fused AdamW (decay on 2-D weights), grad clip 1.0,
random tokens, the configuration read as JSON on stdin ({vocabSize,
blockSize, nLayer, nHead, nEmbd, batch, warmup, steps}). Prints one JSON line
per variant as it finishes: eager, then torch.compile (skipped when
unavailable; the caller's timeout bounds the compile). Timing: CUDA
synchronize around the timed steps, after warm-up steps."""
import json
import math
import sys
import time

import torch
import torch.nn as nn
from torch.nn import functional as F


class Attention(nn.Module):
    def __init__(self, C, nh):
        super().__init__()
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.nh = nh

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.nh, C // self.nh).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class Block(nn.Module):
    def __init__(self, C, nh):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C)
        self.attn = Attention(C, nh)
        self.ln_2 = nn.LayerNorm(C)
        self.mlp = nn.Sequential(nn.Linear(C, 4 * C), nn.GELU(approximate="tanh"), nn.Linear(4 * C, C))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        C = c["nEmbd"]
        self.wte = nn.Embedding(c["vocabSize"], C)
        self.wpe = nn.Embedding(c["blockSize"], C)
        self.h = nn.ModuleList([Block(C, c["nHead"]) for _ in range(c["nLayer"])])
        self.ln_f = nn.LayerNorm(C)
        self.lm_head = nn.Linear(C, c["vocabSize"], bias=False)
        self.lm_head.weight = self.wte.weight
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * c["nLayer"]) if name.endswith("c_proj.weight") or name.endswith("mlp.2.weight") else 0.02
                torch.nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                torch.nn.init.zeros_(p)

    def forward(self, idx, targets):
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
        for b in self.h:
            x = b(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def run(c, variant):
    torch.manual_seed(1337)
    model = GPT(c).cuda()
    params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=6e-4, betas=(0.9, 0.95), fused=True)
    step_model = torch.compile(model) if variant == "compile" else model
    B, T, V = c["batch"], c["blockSize"], c["vocabSize"]
    g = torch.Generator(device="cuda").manual_seed(0)
    data = [torch.randint(0, V, (B, T + 1), device="cuda", generator=g) for _ in range(4)]

    def step(s):
        d = data[s % len(data)]
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            loss = step_model(d[:, :-1], d[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    for s in range(c["warmup"]):
        step(s)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for s in range(c["steps"]):
        loss = step(c["warmup"] + s)
    torch.cuda.synchronize()
    sec = time.perf_counter() - t0
    print(json.dumps({"variant": variant, "params": params, "step_ms": 1000 * sec / c["steps"], "tokens_per_s": B * T * c["steps"] / sec, "last_loss": loss.item(), "torch": torch.__version__}), flush=True)


def main():
    c = json.load(sys.stdin)
    if not torch.cuda.is_available():
        print("gpt_torch.py: no CUDA device", file=sys.stderr)
        sys.exit(2)
    torch.backends.cuda.matmul.allow_tf32 = True
    run(c, "eager")
    try:
        run(c, "compile")
    except Exception as e:  # noqa: BLE001 - report and keep the eager result
        print(f"gpt_torch.py: torch.compile failed: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)


if __name__ == "__main__":
    main()
