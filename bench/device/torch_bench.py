"""PyTorch peers for bench/device/bench.js on the same GPU: reads
{small, cases: [{id, op, shape}]} on stdin, times each with CUDA events
(warm-up, median of repeats), and measures a large device-to-device copy as
the bandwidth ceiling. Prints {id: seconds, ..., copy_gbs: GB/s}."""
import json
import sys

import torch


def time_cuda(fn, reps=50, warmup=5):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) / 1e3)
    times.sort()
    return times[len(times) // 2]


def make(op, shape, small=False):
    if op == "adamw_clip_list":  # shape: the parameters' shapes; clip_grad_norm_ then fused AdamW
        ps = [torch.randn(*s, device="cuda", requires_grad=True) for s in shape]
        for p in ps:
            p.grad = torch.randn_like(p) * 0.1
        try:
            opt = torch.optim.AdamW(ps, lr=1e-4, fused=True)
        except (TypeError, RuntimeError):
            opt = torch.optim.AdamW(ps, lr=1e-4, foreach=True)

        def step():
            torch.nn.utils.clip_grad_norm_(ps, 1.0)
            opt.step()
        return step
    x = torch.randn(*shape, device="cuda")
    if op == "gelu_fwd":
        return lambda: torch.nn.functional.gelu(x, approximate="tanh")
    if op == "relu_fwd":
        return lambda: torch.relu(x)
    if op == "softmax_fwd":
        return lambda: torch.softmax(x, -1)
    if op == "layernorm_fwd":
        w = torch.ones(shape[-1], device="cuda")
        b = torch.zeros(shape[-1], device="cuda")
        return lambda: torch.nn.functional.layer_norm(x, (shape[-1],), w, b)
    # normalisation family (bench.js block of the same name); N x V logits, V x E embeddings
    if op in ("crossentropy_fwd", "crossentropy_bwd", "crossentropy_fwdbwd", "embedding_fwd", "embedding_bwd"):
        n_tok, vocab = (64, 1000) if small else (8192, 50257)
        t = torch.arange(n_tok, device="cuda", dtype=torch.int64) * 7919 % vocab
        if op == "crossentropy_fwd":
            return lambda: torch.nn.functional.cross_entropy(x, t)
        if op == "crossentropy_bwd":
            xg = x.detach().requires_grad_()
            loss = torch.nn.functional.cross_entropy(xg, t)
            return lambda: torch.autograd.grad(loss, xg, retain_graph=True)
        if op == "crossentropy_fwdbwd":
            xg = x.detach().requires_grad_()
            return lambda: torch.autograd.grad(torch.nn.functional.cross_entropy(xg, t), xg)
        if op == "embedding_fwd":
            return lambda: torch.nn.functional.embedding(t, x)
        return lambda: torch.ops.aten.embedding_dense_backward(x, t, vocab, -1, False)
    if op == "softmax_bwd":
        y = torch.softmax(x, -1)
        return lambda: torch._softmax_backward_data(x, y, -1, torch.float32)
    if op == "layernorm_bwd":
        w = torch.ones(shape[-1], device="cuda")
        b = torch.zeros(shape[-1], device="cuda")
        _, mean, rstd = torch.ops.aten.native_layer_norm(x, [shape[-1]], w, b, 1e-5)
        return lambda: torch.ops.aten.native_layer_norm_backward(x, x, [shape[-1]], mean, rstd, w, b, [True, True, True])
    if op == "adamw_step":
        p = torch.nn.Parameter(x)
        p.grad = torch.randn_like(x) * 1e-2
        try:
            opt = torch.optim.AdamW([p], lr=1e-4, fused=True)
        except (TypeError, RuntimeError):
            opt = torch.optim.AdamW([p], lr=1e-4, foreach=True)
        return opt.step
    if op == "matmul_fp32":
        torch.backends.cuda.matmul.allow_tf32 = False
        return lambda: x @ x
    if op == "matmul_tf32":
        torch.backends.cuda.matmul.allow_tf32 = True
        return lambda: x @ x
    if op == "matmul_bf16":
        xb = x.to(torch.bfloat16)
        return lambda: xb @ xb
    # elementwise, reductions, shape ops
    if op == "add_fwd":
        y = torch.randn(*shape, device="cuda")
        return lambda: x + y
    if op == "bias_add_fwd":
        b = torch.randn(shape[-1], device="cuda")
        return lambda: x + b
    if op == "sum_last_fwd":
        return lambda: x.sum(-1)
    if op == "sum_first_fwd":
        return lambda: x.sum(0)
    if op == "permute_bthd":
        return lambda: x.permute(0, 2, 1, 3).contiguous()
    if op == "cast_f32_bf16":
        return lambda: x.to(torch.bfloat16)
    if op == "cast_bf16_f32":
        xb = x.to(torch.bfloat16)
        return lambda: xb.to(torch.float32)
    if op == "permute_bthd_bf16":
        xb = x.to(torch.bfloat16)
        return lambda: xb.permute(0, 2, 1, 3).contiguous()
    # --- attention: causal scaled_dot_product_attention (flash / memory-efficient backends), fp32 or bf16
    if op.startswith("sdpa_"):
        dtype = torch.bfloat16 if op.endswith("bf16") else torch.float32
        torch.backends.cuda.matmul.allow_tf32 = False
        q, k, v, dout = (torch.randn(*shape, device="cuda", dtype=dtype) for _ in range(4))
        sdpa = torch.nn.functional.scaled_dot_product_attention
        if op.startswith("sdpa_fwd_"):
            return lambda: sdpa(q, k, v, is_causal=True)
        q, k, v = (t.requires_grad_() for t in (q, k, v))
        if op.startswith("sdpa_bwd_"):  # the backward alone: the forward (and its saved state) made once
            o = sdpa(q, k, v, is_causal=True)
            return lambda: torch.autograd.grad(o, (q, k, v), dout, retain_graph=True)
        return lambda: torch.autograd.grad(sdpa(q, k, v, is_causal=True), (q, k, v), dout)
    return None


def main():
    spec = json.load(sys.stdin)
    if not torch.cuda.is_available():
        print("torch: no CUDA device", file=sys.stderr)
        sys.exit(2)
    out = {}
    n = (1 << 12) if spec["small"] else (1 << 28)
    src = torch.randn(n, device="cuda")
    dst = torch.empty_like(src)
    out["copy_gbs"] = 2 * 4 * n / time_cuda(lambda: dst.copy_(src)) / 1e9
    for c in spec["cases"]:
        fn = make(c["op"], c["shape"], spec["small"])
        if fn is not None:
            out[c["id"]] = time_cuda(fn)
        print(f"  torch {c['id']}: {out.get(c['id'], 0) * 1e6:.1f} us", file=sys.stderr)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
