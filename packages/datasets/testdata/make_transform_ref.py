# Generates testdata/transform_ref.json with torch 1.13 / torchvision 0.14
# (Debian python3-torch, python3-torchvision). Not a runtime dependency.
#   /usr/bin/python3 packages/datasets/testdata/make_transform_ref.py
import json, os
import torch
import torchvision.transforms.functional as F
import torchvision.transforms as T


def image(c, h, w):
    t = torch.zeros((c, h, w), dtype=torch.uint8)
    for ch in range(c):
        for y in range(h):
            for x in range(w):
                t[ch, y, x] = (x * 7 + y * 13 + ch * 50 + (x * y) % 17) % 256
    return t


out = {}
img = image(3, 4, 5)
mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
out["normalize"] = {
    "shape": [3, 4, 5],
    "mean": mean,
    "std": std,
    "output": T.Normalize(mean, std)(T.ConvertImageDtype(torch.float32)(img)).flatten().tolist(),
    "to_tensor": (img.float().div(255)).flatten().tolist(),
}
big = image(3, 60, 80)
out["image_shape"] = [3, 60, 80]
# RandomResizedCrop with fixed params (i, j, h, w) -> 12x12, antialiased.
cases = []
for (i, j, h, w, size) in [(5, 7, 40, 50, 12), (0, 0, 60, 80, 16), (10, 3, 9, 11, 20), (2, 4, 33, 25, 7)]:
    r = F.resized_crop(big, i, j, h, w, [size, size], antialias=True)
    rn = F.resized_crop(big, i, j, h, w, [size, size], antialias=False)
    cases.append({"box": [i, j, h, w], "size": size, "antialias": r.flatten().tolist(),
                  "plain": rn.flatten().tolist()})
out["resized_crop"] = cases
# Resize(shorter=24) + CenterCrop(20), flipped too.
r = F.resize(big, 24, antialias=True)
c = F.center_crop(r, [20, 20])
out["resize_center"] = {"resize": 24, "crop": 20, "resized_shape": list(r.shape),
                        "output": c.flatten().tolist(),
                        "flipped": F.hflip(c).flatten().tolist()}
# Resize output sizes and center crop offsets.
out["resize_sizes"] = [[h, w, 256, list(T.Resize(256, antialias=True)(torch.zeros(1, h, w, dtype=torch.uint8)).shape[1:])]
                       for (h, w) in [(375, 500), (500, 375), (333, 500), (256, 300), (1000, 257), (299, 299)]]
# RandomResizedCrop fallback: scale range that never fits forces the center crop.
fb = []
for (h, w) in [(100, 400), (400, 100), (300, 350), (375, 500)]:
    i, j, hh, ww = T.RandomResizedCrop.get_params(torch.zeros(1, h, w), scale=[5.0, 6.0], ratio=[3 / 4, 4 / 3])
    fb.append([h, w, i, j, hh, ww])
out["rrc_fallback"] = fb
# CIFAR: pad 4 + crop at (top, left) + flip on a 3x32x32 image.
cif = image(3, 32, 32)
padded = F.pad(cif, 4, fill=0)
crops = []
for (t, l, flip) in [(0, 0, False), (8, 8, True), (3, 6, True), (4, 4, False)]:
    cr = F.crop(padded, t, l, 32, 32)
    if flip:
        cr = F.hflip(cr)
    crops.append({"top": t, "left": l, "flip": flip, "sum": int(cr.long().sum()),
                  "row0": cr[0, 0].tolist(), "col0": cr[2, :, 0].tolist(),
                  "checksum": int((cr.long().flatten() * torch.arange(cr.numel())).sum())})
out["cifar_crop"] = crops
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "transform_ref.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", path, os.path.getsize(path))
