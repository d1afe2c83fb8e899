"""PyTorch (CPU) as a peer of apps/bench: matmul GFLOP/s and the FCN step with AGD.

Run by peer_torch.ts as `/usr/bin/python3 peer_torch.py CONFIG_JSON PROBLEM_BIN`.
PROBLEM_BIN holds, little-endian and back to back: each weight [d_out, d_in]
as float32, then each batch's inputs [batch, input_size] as float32, then each
batch's labels [batch] as int32 — the same weights and batches our step and
TF.js's use, so the first step's eta must agree. Prints one JSON object.

The step mirrors the AGD reference (jxbz/agd, agd.py) and packages/agd:
G = (1/L) sum_k s_k ||grad W_k||_F, eta = log((1 + sqrt(1 + 4G)) / 2),
W_k -= (eta / L) * nan_to_num(s_k / ||grad W_k||_F) * grad W_k.
"""

import json
import math
import os
import re
import sys
import time


def blas_info(torch):
    """The BLAS torch was built against and the library the loader resolves for it."""
    match = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    info = match.group(1) if match else "unknown"
    lib = "/usr/lib/x86_64-linux-gnu/libblas.so.3"
    resolved = os.path.realpath(lib) if os.path.exists(lib) else "not found"
    return {"blas_info": info, "libblas": resolved}


def timed(fn, seconds, warmup=2, min_count=2, max_count=1000):
    """Milliseconds per call of fn after warm-up, aiming at `seconds` of work."""
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    fn()
    probe = max(time.perf_counter() - start, 1e-6)
    count = max(min_count, min(max_count, math.ceil(seconds / probe)))
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return (time.perf_counter() - start) * 1000 / count, count


def main():
    config = json.loads(sys.argv[1])
    with open(sys.argv[2], "rb") as f:
        blob = bytearray(f.read())
    import torch

    threads = config.get("threads") or os.cpu_count()
    torch.set_num_threads(threads)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), **blas_info(torch)}

    out["matmul"] = []
    for n in config["matmul_sizes"]:
        a = torch.randn(n, n)
        b = torch.randn(n, n)
        ms, count = timed(lambda: torch.mm(a, b), config["seconds"])
        out["matmul"].append({"size": n, "ms": ms, "count": count, "gflops": 2 * n ** 3 / ms / 1e6})

    shapes = config["shapes"]
    batch, input_size, classes = config["batch"], config["input_size"], config["classes"]
    offset = 0

    def take(count, dtype):
        nonlocal offset
        t = torch.frombuffer(blob, dtype=dtype, count=count, offset=offset).clone()
        offset += count * 4
        return t

    weights = [take(o * i, torch.float32).reshape(o, i).requires_grad_() for o, i in shapes]
    xs = [take(batch * input_size, torch.float32).reshape(batch, input_size)
          for _ in range(config["batches"])]
    ys = [take(batch, torch.int32).long() for _ in range(config["batches"])]
    depth = len(weights)
    scales = [math.sqrt(o / i) for o, i in shapes]
    target_scale = math.sqrt(classes)
    state = {"step": 0}

    def step():
        k = state["step"] % len(xs)
        state["step"] += 1
        h = xs[k] @ weights[0].t()
        for w in weights[1:]:
            h = (torch.relu(h) * math.sqrt(2)) @ w.t()
        target = torch.nn.functional.one_hot(ys[k], classes).float() * target_scale
        loss = ((h - target) ** 2).mean()
        for w in weights:
            w.grad = None
        loss.backward()
        with torch.no_grad():
            norms = [torch.linalg.norm(w.grad) for w in weights]
            g = sum(s * n for s, n in zip(scales, norms)) / depth
            eta = math.log(0.5 * (1 + math.sqrt(1 + 4 * g.item())))
            for w, s, n in zip(weights, scales, norms):
                w -= (eta / depth) * torch.nan_to_num(s / n) * w.grad
        return eta

    first_eta = step()
    ms, count = timed(step, config["seconds"], warmup=1)
    out["fcn"] = {"ms": ms, "count": count, "samples_per_s": batch * 1000 / ms, "eta": first_eta}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
