#!/usr/bin/python3
"""PyTorch reference for the model architectures of SPEC.md (names, shapes, counts).

Regenerate torch_reference.json (next to this file) from the repository root with:

    /usr/bin/python3 packages/models/testing/torch_reference.py

It needs only PyTorch (tested with Debian's python3-torch 1.13, CPU); it is a
development tool, not a runtime dependency of the project. The models below are
plain PyTorch restatements of the AGD reference code (jxbz/agd: FCN, VGG_CIFAR,
kuangliu-style PreActResNet for CIFAR, torchvision v1.5 ResNet for ImageNet)
with the project's conventions: no biases anywhere and BatchNorm2d(affine=False).

For every model the JSON holds, in PyTorch state_dict order:
  params       [[name, shape], ...]            trainable weights
  buffers      [[name, shape, dtype], ...]     BatchNorm running_mean/var, num_batches_tracked
  state_dict   [name, ...]                     params and buffers interleaved, as state_dict()
  param_count  number of trainable scalars
  weight_tensors  number of weight tensors (AGD's depth L)
  input_shape / output_shape   a batch of 2 at the dataset's size (eval mode)
  layer_output_shapes  {module name: output shape} for every Conv2d, BatchNorm2d,
                       MaxPool2d, AvgPool2d and Linear at input_shape
ImageNet models also have small_input_shape / small_output_shape /
small_layer_output_shapes for a 64x64 image (what fast tests use).
"""

import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

# --------------------------------------------------------------------------------------------
# FCN: flatten -> initial -> [relu*sqrt2 -> layers.i] x (depth-2) -> relu*sqrt2 -> final


class FCN(nn.Module):
    def __init__(self, depth, width, d_in, num_classes):
        super().__init__()
        self.initial = nn.Linear(d_in, width, bias=False)
        self.layers = nn.ModuleList([nn.Linear(width, width, bias=False) for _ in range(depth - 2)])
        self.final = nn.Linear(width, num_classes, bias=False)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        x = F.relu(self.initial(x)) * math.sqrt(2)
        for layer in self.layers:
            x = F.relu(layer(x)) * math.sqrt(2)
        return self.final(x)


# --------------------------------------------------------------------------------------------
# VGG for CIFAR (torchvision cfgs A/B/D/E): conv3x3 p1 -> BN -> relu per number, M = maxpool 2.
# features.<i> indexes the Sequential: conv, bn, relu and pool each take one index. As in the
# AGD reference, the Sequential ends with an identity AvgPool2d(1, 1) (no parameters).

VGG_CFGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [
        64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
        512, 512, 512, 512, "M", 512, 512, 512, 512, "M",
    ],
}


class VGG(nn.Module):
    def __init__(self, cfg, num_classes):
        super().__init__()
        layers = []
        channels = 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers.append(nn.Conv2d(channels, v, kernel_size=3, padding=1, bias=False))
                layers.append(nn.BatchNorm2d(v, affine=False))
                layers.append(nn.ReLU(inplace=True))
                channels = v
        layers.append(nn.AvgPool2d(kernel_size=1, stride=1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(512, num_classes, bias=False)

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.reshape(x.shape[0], -1))


# --------------------------------------------------------------------------------------------
# Pre-activation ResNets for CIFAR (kuangliu/pytorch-cifar preact_resnet.py, as AGD uses it).
# Stem conv1 with no BN after it; no final BN before the 4x4 average pool.


class PreActBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes, affine=False)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, affine=False)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        if stride != 1 or in_planes != self.expansion * planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, self.expansion * planes, 1, stride=stride, bias=False)
            )

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if hasattr(self, "shortcut") else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActBottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes, affine=False)
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, affine=False)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes, affine=False)
        self.conv3 = nn.Conv2d(planes, self.expansion * planes, 1, bias=False)
        if stride != 1 or in_planes != self.expansion * planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, self.expansion * planes, 1, stride=stride, bias=False)
            )

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if hasattr(self, "shortcut") else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        out = self.conv3(F.relu(self.bn3(out)))
        return out + shortcut


class PreActResNet(nn.Module):
    def __init__(self, block, num_blocks, num_classes):
        super().__init__()
        self.in_planes = 64
        self.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
        self.layer1 = self._make_layer(block, 64, num_blocks[0], 1)
        self.layer2 = self._make_layer(block, 128, num_blocks[1], 2)
        self.layer3 = self._make_layer(block, 256, num_blocks[2], 2)
        self.layer4 = self._make_layer(block, 512, num_blocks[3], 2)
        self.linear = nn.Linear(512 * block.expansion, num_classes, bias=False)

    def _make_layer(self, block, planes, n, stride):
        blocks = []
        for s in [stride] + [1] * (n - 1):
            blocks.append(block(self.in_planes, planes, s))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*blocks)

    def forward(self, x):
        out = self.conv1(x)
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.avg_pool2d(out, 4)
        return self.linear(out.reshape(out.shape[0], -1))


# --------------------------------------------------------------------------------------------
# ResNet-50 for ImageNet: torchvision v1.5 bottleneck (stride on the 3x3 conv).


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, affine=False)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, affine=False)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion, affine=False)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNetImageNet(nn.Module):
    def __init__(self, layers, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64, affine=False)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0], 1)
        self.layer2 = self._make_layer(128, layers[1], 2)
        self.layer3 = self._make_layer(256, layers[2], 2)
        self.layer4 = self._make_layer(512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * Bottleneck.expansion, num_classes, bias=False)

    def _make_layer(self, planes, n, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * Bottleneck.expansion, affine=False),
            )
        blocks = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        for _ in range(1, n):
            blocks.append(Bottleneck(self.inplanes, planes))
        return nn.Sequential(*blocks)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# --------------------------------------------------------------------------------------------
# The reference list

# (key, arch, dataset, constructor, input shape (batch 2), small ImageNet input or None)
MODELS = [
    ("fcn_d10_w256_mnist", "fcn", "mnist", lambda: FCN(10, 256, 784, 10), [2, 1, 28, 28], None),
    ("fcn_d4_w32_in48", "fcn", "fixture", lambda: FCN(4, 32, 48, 10), [2, 48], None),
    ("vgg11_cifar10", "vgg11", "cifar10", lambda: VGG(VGG_CFGS["vgg11"], 10), [2, 3, 32, 32], None),
    ("vgg13_cifar10", "vgg13", "cifar10", lambda: VGG(VGG_CFGS["vgg13"], 10), [2, 3, 32, 32], None),
    ("vgg16_cifar10", "vgg16", "cifar10", lambda: VGG(VGG_CFGS["vgg16"], 10), [2, 3, 32, 32], None),
    ("vgg19_cifar10", "vgg19", "cifar10", lambda: VGG(VGG_CFGS["vgg19"], 10), [2, 3, 32, 32], None),
    ("vgg16_cifar100", "vgg16", "cifar100", lambda: VGG(VGG_CFGS["vgg16"], 100), [2, 3, 32, 32], None),
    (
        "resnet18_cifar10", "resnet18", "cifar10",
        lambda: PreActResNet(PreActBlock, [2, 2, 2, 2], 10), [2, 3, 32, 32], None,
    ),
    (
        "resnet50_cifar10", "resnet50", "cifar10",
        lambda: PreActResNet(PreActBottleneck, [3, 4, 6, 3], 10), [2, 3, 32, 32], None,
    ),
    (
        "resnet50_imagenet", "resnet50", "imagenet",
        lambda: ResNetImageNet([3, 4, 6, 3], 1000), [2, 3, 224, 224], [2, 3, 64, 64],
    ),
]

SHAPE_MODULES = (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.AvgPool2d, nn.Linear)

DTYPE_NAMES = {torch.float32: "F32", torch.int64: "I64"}


def layer_output_shapes(model, input_shape):
    shapes = {}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, SHAPE_MODULES):
            def hook(_m, _inp, out, name=name):
                shapes[name] = list(out.shape)
            hooks.append(module.register_forward_hook(hook))
    with torch.no_grad():
        out = model(torch.randn(*input_shape))
    for h in hooks:
        h.remove()
    return list(out.shape), shapes


def describe(key, arch, dataset, make, input_shape, small_shape):
    torch.manual_seed(0)
    model = make().eval()
    params = [[n, list(p.shape)] for n, p in model.named_parameters()]
    buffers = [[n, list(b.shape), DTYPE_NAMES[b.dtype]] for n, b in model.named_buffers()]
    for n, p in model.named_parameters():
        assert p.dim() >= 2, f"{key}: {n} is a bias-like 1-D parameter"
    entry = {
        "arch": arch,
        "dataset": dataset,
        "params": params,
        "buffers": buffers,
        "state_dict": list(model.state_dict().keys()),
        "param_count": sum(p.numel() for p in model.parameters()),
        "weight_tensors": len(params),
        "input_shape": input_shape,
    }
    entry["output_shape"], entry["layer_output_shapes"] = layer_output_shapes(model, input_shape)
    if small_shape is not None:
        entry["small_input_shape"] = small_shape
        out, shapes = layer_output_shapes(model, small_shape)
        entry["small_output_shape"] = out
        entry["small_layer_output_shapes"] = shapes
    return entry


def dumps(value, indent=0):
    """JSON laid out the way `deno fmt` leaves it (objects and lists of lists or strings one
    entry per line, short lists inline), so the committed file passes `deno fmt --check`."""
    pad = "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(value, list) and value and all(isinstance(v, (list, str)) for v in value):
        items = [f"{pad}{json.dumps(v, separators=(', ', ': '))}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + "  " * indent + "]"
    return json.dumps(value, separators=(", ", ": "))


def main():
    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    models = {}
    for spec in MODELS:
        entry = describe(*spec)
        models[spec[0]] = entry
        print(
            f"{spec[0]:20s} params {entry['param_count']:>11,}  weight tensors {entry['weight_tensors']:3d}"
            f"  buffers {len(entry['buffers']):3d}  output {entry['output_shape']}",
        )

    # torchvision's resnet50 has 25,557,032 parameters; without BN affine (2 per BN channel) and
    # without the fc bias (1000) it must be 25,502,912.
    r50 = models["resnet50_imagenet"]
    bn_channels = sum(shape[0] for name, shape, _ in r50["buffers"] if name.endswith("running_mean"))
    assert 25_557_032 - 2 * bn_channels - 1000 == 25_502_912, bn_channels
    assert r50["param_count"] == 25_502_912, r50["param_count"]
    try:
        import torchvision

        tv = torchvision.models.resnet50()
        tv_count = sum(p.numel() for p in tv.parameters())
        assert tv_count == 25_557_032, tv_count
        tv_names = [n for n, p in tv.named_parameters() if p.dim() > 1]
        assert tv_names == [n for n, _ in r50["params"]], "weight names differ from torchvision"
        print(f"torchvision {torchvision.__version__} resnet50: {tv_count:,} params, same weight names")
        for letter, name in zip("ABDE", ["vgg11", "vgg13", "vgg16", "vgg19"]):
            assert torchvision.models.vgg.cfgs[letter] == VGG_CFGS[name], name
        print("VGG configs equal torchvision's cfgs A/B/D/E")
    except ImportError:
        print("torchvision not installed: skipped the cross-check against torchvision.models.resnet50")
    print(f"resnet50_imagenet: {r50['param_count']:,} = 25,557,032 - 2*{bn_channels:,} (BN affine) - 1,000 (fc bias)")

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_reference.json")
    text = dumps({"torch": torch.__version__, "models": models}) + "\n"
    json.loads(text)  # well-formed
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {path} ({len(text.encode()):,} bytes)")


if __name__ == "__main__":
    sys.exit(main())
