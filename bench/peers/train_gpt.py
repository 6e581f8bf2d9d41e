# PyTorch peer of bench/train-gpt.js: nanoGPT's model.py (GPT-2 architecture,
# pre-LN blocks, tied LM head, GPT-2 init), written the way nanoGPT runs on
# torch 1.13 CPU (no scaled_dot_product_attention before torch 2.0, so the
# "slow" attention path: a masked T x T matrix), trained as nanoGPT's train.py
# does: random char windows of tiny Shakespeare, AdamW (decay on 2-D weights),
# grad clip 1.0, loss.item() every step. Generation: nanoGPT's generate()
# (no KV cache: the cropped context is recomputed for every token).
# A server, so the caller can interleave its runs with the peer's. Each stdin
# line is one of
#   train <nLayer> <nHead> <nEmbd> <block> <batch> <steps>
#   generate <nLayer> <nHead> <nEmbd> <block> <tokens>
# and is answered with one line: tokens per second of wall time, and tokens
# per CPU-second (all threads). The first request of a configuration warms up.
# Usage: train_gpt.py <text file>
import math
import os
import sys
import time

import torch
import torch.nn as nn
from torch.nn import functional as F

torch.set_num_threads(int(os.environ.get('BENCH_THREADS', '2')))


class CausalSelfAttention(nn.Module):
    def __init__(self, C, nh, block):
        super().__init__()
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.nh = nh
        self.register_buffer('bias', torch.tril(torch.ones(block, block)).view(1, 1, block, block))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        k = k.view(B, T, self.nh, C // self.nh).transpose(1, 2)  # (B, nh, T, hs)
        q = q.view(B, T, self.nh, C // self.nh).transpose(1, 2)
        v = v.view(B, T, self.nh, C // self.nh).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float('-inf'))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class Block(nn.Module):
    def __init__(self, C, nh, block):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C)
        self.attn = CausalSelfAttention(C, nh, block)
        self.ln_2 = nn.LayerNorm(C)
        self.c_fc = nn.Linear(C, 4 * C)
        self.c_proj = nn.Linear(4 * C, C)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate='tanh'))


class GPT(nn.Module):
    def __init__(self, V, block, nl, nh, C):
        super().__init__()
        self.block = block
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(block, C)
        self.h = nn.ModuleList([Block(C, nh, block) for _ in range(nl)])
        self.ln_f = nn.LayerNorm(C)
        self.lm_head = nn.Linear(C, V, bias=False)
        self.wte.weight = self.lm_head.weight  # tied
        for n, p in self.named_parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * nl) if n.endswith('c_proj.weight') else 0.02)
            elif n.endswith('bias') and 'ln' not in n:
                torch.nn.init.zeros_(p)

    def forward(self, idx, targets=None):
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for b in self.h:
            x = b(x)
        x = self.ln_f(x)
        if targets is None:
            return self.lm_head(x[:, [-1], :]), None
        logits = self.lm_head(x)
        return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

    @torch.no_grad()
    def generate(self, idx, n):
        for _ in range(n):
            logits, _ = self(idx if idx.size(1) <= self.block else idx[:, -self.block:])
            probs = F.softmax(logits[:, -1, :] / 0.8, dim=-1)
            idx = torch.cat((idx, torch.multinomial(probs, num_samples=1)), dim=1)
        return idx


text = open(sys.argv[1], encoding='utf-8').read()
chars = sorted(set(text))
data = torch.tensor([chars.index(c) for c in text[:200000]], dtype=torch.long)
V = len(chars)
models = {}


def get(nl, nh, C, block):
    key = (nl, nh, C, block)
    if key not in models:
        torch.manual_seed(1337)
        m = GPT(V, block, nl, nh, C)
        decay = [p for p in m.parameters() if p.dim() >= 2]
        other = [p for p in m.parameters() if p.dim() < 2]
        opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': other, 'weight_decay': 0.0}], lr=1e-3, betas=(0.9, 0.99))
        models[key] = (m, opt, True)
    return models[key]


def train_steps(m, opt, block, batch, steps):
    for _ in range(steps):
        ix = torch.randint(len(data) - block - 1, (batch,))
        x = torch.stack([data[i:i + block] for i in ix])
        y = torch.stack([data[i + 1:i + 1 + block] for i in ix])
        _, loss = m(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        loss.item()


for line in sys.stdin:
    w = line.split()
    nl, nh, C, block = (int(v) for v in w[1:5])
    m, opt, fresh = get(nl, nh, C, block)
    if w[0] == 'train':
        batch, steps = int(w[5]), int(w[6])
        m.train()
        if fresh:
            train_steps(m, opt, block, batch, 1)  # warm-up
        t0, c0 = time.perf_counter(), time.process_time()
        train_steps(m, opt, block, batch, steps)
        tokens = steps * batch * block
    else:
        n = int(w[5])
        m.eval()
        if fresh:
            m.generate(torch.zeros((1, 1), dtype=torch.long), 4)
        torch.manual_seed(0)
        t0, c0 = time.perf_counter(), time.process_time()
        m.generate(torch.zeros((1, 1), dtype=torch.long), n)
        tokens = n
    models[(nl, nh, C, block)] = (m, opt, False)
    print(tokens / (time.perf_counter() - t0), tokens / (time.process_time() - c0), flush=True)
