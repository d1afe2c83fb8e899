"""PyTorch fp32 eager as the ResNet-50 peer of apps/bench on a real GPU.

Run by peer_torch.ts as `python3 peer_torch_resnet.py CONFIG_JSON`, CONFIG_JSON
holding batch, steps, warmup, device and image size. Prints one JSON object.

The step is ours (packages/models ResNet-50, packages/agd): torchvision's v1.5
ResNet-50 made bias-free with non-affine BatchNorm, as SPEC's models are,
cross-entropy on random 224x224 images and labels, backward, and AGD's update
(G = (1/L) sum_k s_k sum_slices ||grad W_k[:, :, r]||_F,
eta = log((1 + sqrt(1 + 4G)) / 2), W_k -= (eta / L) * nan_to_num(s_k / slice norm) * grad),
with eta kept on the GPU (no host sync inside a step, as in ours). TF32 is
off for matmuls and convolutions: ours computes in fp32, so the peer does too.
"""

import json
import math
import sys
import time


def bias_free_resnet50(torch, torchvision):
    """torchvision's ResNet-50 with non-affine BatchNorm and a bias-free classifier."""
    model = torchvision.models.resnet50()
    for m in model.modules():
        # torchvision's init fills BatchNorm's weight, so drop the affine after it.
        if isinstance(m, torch.nn.BatchNorm2d):
            m.affine = False
            m.register_parameter("weight", None)
            m.register_parameter("bias", None)
    model.fc = torch.nn.Linear(model.fc.in_features, 1000, bias=False)
    return model


def agd_step(torch, weights, scales):
    """One AGD update of `weights` from their .grad; returns eta as a GPU tensor."""
    depth = len(weights)
    # Frobenius norms of each [d_out, d_in] slice: one per kernel position.
    norms = [torch.linalg.vector_norm(w.grad, dim=(0, 1), keepdim=True) for w in weights]
    g = sum(s * n.sum() for s, n in zip(scales, norms)) / depth
    eta = torch.log(0.5 * (1 + torch.sqrt(1 + 4 * g)))
    for w, s, n in zip(weights, scales, norms):
        w.sub_(torch.nan_to_num((eta / depth) * s / n) * w.grad)
    return eta


def main():
    config = json.loads(sys.argv[1])
    import torch
    import torchvision

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    device = torch.device(config.get("device", "cuda"))
    batch, size = config["batch"], config.get("image", 224)
    model = bias_free_resnet50(torch, torchvision).to(device).train()
    weights = [p for p in model.parameters() if p.dim() >= 2]
    # AGD's scale s = sqrt(d_out / d_in) / sqrt(kh * kw) (packages/agd agdScale).
    scales = [math.sqrt(w.shape[0] / w.shape[1]) / math.sqrt(w[0, 0].numel()) for w in weights]
    x = torch.randn(batch, 3, size, size, device=device)
    y = torch.randint(0, 1000, (batch,), device=device)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        for w in weights:
            w.grad = None
        loss_fn(model(x), y).backward()
        with torch.no_grad():
            return agd_step(torch, weights, scales)

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(config.get("warmup", 3)):
        step()
    sync()
    steps = config.get("steps", 10)
    start = time.perf_counter()
    for _ in range(steps):
        eta = step()
    sync()
    ms = (time.perf_counter() - start) * 1000 / steps
    out = {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "batch": batch,
        "steps": steps,
        "ms": ms,
        "samples_per_s": batch * 1000 / ms,
        "eta": float(eta),
        "peak_bytes": torch.cuda.max_memory_allocated(device) if device.type == "cuda" else 0,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
