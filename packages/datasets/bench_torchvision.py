"""torchvision's ImageNet input pipeline on a folder, for packages/datasets/bench.ts.

ImageFolder + DataLoader(num_workers=W) with the reference transforms
(train: RandomResizedCrop 224, flip, ToTensor, Normalize; eval: Resize 256,
CenterCrop 224, ToTensor, Normalize), sampling with replacement. Prints one
JSON line: images/s of one epoch of SAMPLES draws, timed from its start to
its end with the workers already started (persistent workers, warmed up).

usage: bench_torchvision.py DIR WORKERS train|eval SAMPLES BATCH

It also prints images per CPU-second of the main and worker processes
(from /proc), a figure that other load on the machine does not change.
"""
import json
import os
import sys
import time


def cpu_seconds(pids):
    """utime + stime of these processes, in seconds (Linux /proc)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def main():
    folder, workers, kind, samples, batch = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(
        sys.argv[4]), int(sys.argv[5])
    import torch
    import torchvision
    from torchvision import datasets, transforms as T

    torch.set_num_threads(1)
    norm = T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    if kind == "train":
        tf = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(), norm])
    else:
        tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), norm])
    ds = datasets.ImageFolder(folder, tf)
    sampler = torch.utils.data.RandomSampler(ds, replacement=True, num_samples=samples)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, sampler=sampler, num_workers=workers,
                                         persistent_workers=workers > 0)
    # Warm-up: start the workers; the next iter() drains what they prefetched,
    # so the timed epoch starts with empty queues (no work done before t0).
    next(iter(loader))
    it = iter(loader)
    pids = [os.getpid()] + [w.pid for w in getattr(it, "_workers", [])]
    n = 0
    c0 = cpu_seconds(pids)
    t0 = time.perf_counter()
    for x, _ in it:
        n += x.shape[0]
    dt = time.perf_counter() - t0
    cpu = cpu_seconds(pids) - c0
    print(json.dumps({"images_per_s": n / dt, "images_per_cpu_s": n / cpu,
                      "torchvision": torchvision.__version__, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
