"""Times the NumPy / PyTorch peers of the benchmark cases given as JSON on
stdin ([{id, family, peer, params}]); prints {id: {numpy: s, torch: s}}.
Each family's peers live in bench/peers/<family>.py as
make(lib, peer, params) -> callable or None. Same timing policy as
bench/timing.js: warm up, >= 5 reps and >= 0.4 s, median."""
import importlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import numpy  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
torch.set_grad_enabled(False)


def time_it(fn, min_reps=5, min_seconds=0.4, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 1000:
            break
    times.sort()
    return times[len(times) // 2]


def main():
    cases = json.load(sys.stdin)
    out = {}
    for c in cases:
        mod = importlib.import_module(c["family"])
        res = {}
        for lib in ("numpy", "torch"):
            fn = mod.make(lib, c["peer"], c["params"])
            if fn is not None:
                res[lib] = time_it(fn)
        out[c["id"]] = res
        print(f"  peers {c['id']}: " + ", ".join(f"{k} {v * 1e3:.3f} ms" for k, v in res.items()), file=sys.stderr)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
