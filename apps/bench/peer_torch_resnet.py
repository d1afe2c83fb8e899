"""PyTorch fp32 eager as the ResNet peer of apps/bench: ResNet-50 on a real
GPU, and the CIFAR pre-activation ResNet-18 on the CPU.

Run by peer_torch.ts as `python3 peer_torch_resnet.py CONFIG_JSON`, CONFIG_JSON
holding arch (resnet50, the default, or resnet18_cifar), batch, steps,
warmup, device and image size. Prints one JSON object.

The step is ours (packages/models, packages/agd): torchvision's v1.5
ResNet-50, or kuangliu/pytorch-cifar's PreActResNet18 (packages/models
resnet.ts), made bias-free with non-affine BatchNorm, as SPEC's models are,
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


def preact_resnet18_cifar(torch, classes=10):
    """kuangliu/pytorch-cifar's PreActResNet18, bias-free, non-affine BatchNorm (ours: resnet.ts)."""
    nn = torch.nn

    def conv(cin, cout, k, stride):
        return nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, bias=False)

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.bn1 = nn.BatchNorm2d(cin, affine=False)
            self.conv1 = conv(cin, cout, 3, stride)
            self.bn2 = nn.BatchNorm2d(cout, affine=False)
            self.conv2 = conv(cout, cout, 3, 1)
            self.shortcut = conv(cin, cout, 1, stride) if stride != 1 or cin != cout else None

        def forward(self, x):
            pre = torch.relu(self.bn1(x))
            short = self.shortcut(pre) if self.shortcut is not None else x
            h = self.conv1(pre)
            return self.conv2(torch.relu(self.bn2(h))) + short

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = conv(3, 64, 3, 1)
            layers, cin = [], 64
            for i, width in enumerate([64, 128, 256, 512]):
                for j in range(2):
                    layers.append(Block(cin, width, 2 if i > 0 and j == 0 else 1))
                    cin = width
            self.layers = nn.Sequential(*layers)
            self.linear = nn.Linear(512, classes, bias=False)

        def forward(self, x):
            h = self.layers(self.conv1(x))
            return self.linear(torch.flatten(torch.nn.functional.avg_pool2d(h, 4), 1))

    return Net()


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

    if "threads" in config:
        torch.set_num_threads(config["threads"])
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    device = torch.device(config.get("device", "cuda"))
    batch, size = config["batch"], config.get("image", 224)
    arch = config.get("arch", "resnet50")
    classes = 10 if arch == "resnet18_cifar" else 1000
    net = preact_resnet18_cifar(torch) if arch == "resnet18_cifar" else bias_free_resnet50(torch, torchvision)
    model = net.to(device).train()
    weights = [p for p in model.parameters() if p.dim() >= 2]
    # AGD's scale s = sqrt(d_out / d_in) / sqrt(kh * kw) (packages/agd agdScale).
    scales = [math.sqrt(w.shape[0] / w.shape[1]) / math.sqrt(w[0, 0].numel()) for w in weights]
    x = torch.randn(batch, 3, size, size, device=device)
    y = torch.randint(0, classes, (batch,), device=device)
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
        "arch": arch,
        "threads": torch.get_num_threads(),
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
