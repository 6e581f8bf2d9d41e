# PyTorch peer of bench/train-mlp.js: the same 784-128-10 MLP (ReLU, softmax
# fused into the cross-entropy), Adam lr 1e-3, on the same 8,000 MNIST digits,
# the same per-step work as keras fit (shuffled batch gather, forward, loss,
# backward, Adam step, loss.item() and the accuracy count). A server, so the
# caller can interleave its own runs with the peer's: each stdin line
# "<batch> <epochs>" runs that many epochs (after one warm-up epoch the first
# time a batch size is seen) and answers one line: samples per second of
# wall time, and samples per CPU-second (all threads).
# Usage: train_mlp.py <data dir>
import gzip, os, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(int(os.environ.get('BENCH_THREADS', '2')))


def idx(path):
    b = gzip.open(path).read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], 'big') for i in range(nd)]
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


data = sys.argv[1]
X = torch.tensor(idx(os.path.join(data, 't10k-images-idx3-ubyte.gz')).reshape(-1, 784)[:8000] / 255.0, dtype=torch.float32)
Y = torch.tensor(idx(os.path.join(data, 't10k-labels-idx1-ubyte.gz'))[:8000].astype(np.int64))
n = X.shape[0]


def epoch(model, opt, bs):
    perm = torch.randperm(n)
    loss_sum, correct = 0.0, 0
    for i in range(0, n, bs):
        b = perm[i:i + bs]
        xb, yb = X[b], Y[b]
        opt.zero_grad()
        logits = model(xb)
        loss = F.cross_entropy(logits, yb)
        loss.backward()
        opt.step()
        loss_sum += loss.item() * len(b)
        correct += (logits.argmax(1) == yb).sum().item()
    return loss_sum / n, correct / n


models = {}
for line in sys.stdin:
    bs, epochs = (int(v) for v in line.split())
    if bs not in models:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        models[bs] = (model, torch.optim.Adam(model.parameters(), lr=1e-3))
        epoch(*models[bs], bs)  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(epochs):
        epoch(*models[bs], bs)
    print(epochs * n / (time.perf_counter() - t0), epochs * n / (time.process_time() - c0), flush=True)
