#!/usr/bin/python3
"""Golden vectors for package infer: PyTorch eval-mode forwards of both archs.

Builds the seed and the simsiam architecture in PyTorch (and a simsiam one
with a deeper backbone: two convolutions per stage) with fixed random
weights and non-trivial BatchNorm running statistics, runs them in eval mode
(torch.no_grad) on the first test images of FashionMNIST, and writes

  golden.json  index: per model the arch, its tensors (state_dict names and
               shapes) and the outputs of every layer, as offsets into
  golden.bin   little-endian data: model tensors as int8 with a power-of-two
               scale each (so the committed file stays small: PyTorch ran on
               exactly the float32 values q*scale), outputs as float32
  images.bin   the input images, uint8, row-major 28x28

Run from this directory: /usr/bin/python3 gen_golden.py
"""
import gzip
import json
import math

import numpy as np
import torch
import torch.nn as nn

N_IMAGES = 7  # odd, so batches do not fill whole kernel tiles
IDX = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


class Backbone(nn.Module):
    """Per stage i: conv{i} (stride 2), then for depth > 1 conv{i}_2 ...
    conv{i}_{depth} (stride 1, same width), each conv -> ReLU -> BN."""

    def __init__(self, chans, depth=1):
        super().__init__()
        c = 1
        self.names = []
        for i, co in enumerate(chans, 1):
            for j in range(1, depth + 1):
                sfx = f"{i}" if j == 1 else f"{i}_{j}"
                setattr(self, f"conv{sfx}", nn.Conv2d(c, co, 3, stride=2 if j == 1 else 1, padding=1))
                setattr(self, f"bn{sfx}", nn.BatchNorm2d(co))
                self.names.append(sfx)
                c = co

    def forward(self, x):
        for sfx in self.names:
            x = getattr(self, f"bn{sfx}")(torch.relu(getattr(self, f"conv{sfx}")(x)))
        return torch.flatten(x, 1)


class Head(nn.Module):
    """fc{i} -> bn{i} (-> ReLU) ...; the last fc has a BN only if last_bn."""

    def __init__(self, dims, last_bn, bias=True, last_affine=True):
        super().__init__()
        self.n = len(dims) - 1
        self.last_bn = last_bn
        for i in range(1, self.n + 1):
            last = i == self.n
            setattr(self, f"fc{i}", nn.Linear(dims[i - 1], dims[i], bias=bias or not last))
            if not last or last_bn:
                setattr(self, f"bn{i}", nn.BatchNorm1d(dims[i], affine=not last or last_affine))

    def forward(self, x):
        for i in range(1, self.n + 1):
            last = i == self.n
            x = getattr(self, f"fc{i}")(x)
            if not last or self.last_bn:
                x = getattr(self, f"bn{i}")(x)
            if not last:
                x = torch.relu(x)
        return x


def randomise(module, gen):
    """Uniform weights at PyTorch's init scale; BN with non-trivial stats and affine parameters."""
    for name, t in module.state_dict().items():
        kind = name.rsplit(".", 1)[1]
        if kind == "num_batches_tracked":
            continue
        if kind == "running_var":
            t.copy_(torch.rand(t.shape, generator=gen) * 1.5 + 0.25)
        elif kind == "running_mean":
            t.copy_(torch.randn(t.shape, generator=gen) * 0.3)
        elif name.startswith("bn") and kind == "weight":
            t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
        elif name.startswith("bn"):
            t.copy_(torch.randn(t.shape, generator=gen) * 0.2)
        elif kind == "weight":
            bound = 1 / math.sqrt(t[0].numel())
            t.copy_((torch.rand(t.shape, generator=gen) * 2 - 1) * bound)
        else:
            t.copy_((torch.rand(t.shape, generator=gen) * 2 - 1) * 0.1)


def quantise(t):
    """t as int8 q and a power-of-two scale with q*scale == t exactly."""
    scale = 2.0 ** math.ceil(math.log2(float(t.abs().max()) / 127))
    q = torch.round(t / scale).clamp(-127, 127)
    return q.to(torch.int8), scale


def main():
    with gzip.open(IDX) as f:
        raw = f.read()
    images = np.frombuffer(raw, np.uint8, N_IMAGES * 784, 16).reshape(N_IMAGES, 1, 28, 28)
    x = torch.from_numpy(images.astype(np.float32)) / 255  # torchvision ToTensor

    gen = torch.Generator().manual_seed(20201120)
    models = {
        "seed": ("seed", Backbone([32, 64, 128]), None, Head([2048, 64, 2048], last_bn=False)),
        # narrow widths that are not whole kernel panels; a projector whose last
        # BN has no affine parameters and a predictor whose last fc has no bias
        "simsiam": ("simsiam", Backbone([8, 20, 24]), Head([384, 40, 48], last_bn=True, last_affine=False),
                    Head([48, 12, 48], last_bn=False, bias=False)),
        # two convolutions per stage (the second at stride 1), narrow widths
        "simsiam-depth2": ("simsiam", Backbone([8, 20, 24], depth=2), Head([384, 40, 48], last_bn=True, last_affine=False),
                           Head([48, 12, 48], last_bn=False, bias=True)),
    }
    blob = bytearray()

    def put(arr):
        off = len(blob)
        blob.extend(arr.tobytes())
        return off

    index = {"images": {"file": "images.bin", "n": N_IMAGES, "height": 28, "width": 28}, "models": []}
    for key, (arch, bb, proj, pred) in models.items():
        parts = [("backbone", bb)] + ([("projector", proj)] if proj else []) + [("predictor", pred)]
        tensors = []
        for prefix, mod in parts:
            randomise(mod, gen)
            # snap every tensor to its int8 grid, so that the file holds exactly what runs
            for name, t in mod.state_dict().items():
                if name.endswith("num_batches_tracked"):
                    continue
                q, scale = quantise(t)
                t.copy_(q.float() * scale)
                tensors.append({"name": f"{prefix}.{name}", "shape": list(t.shape), "dtype": "int8",
                                "scale": scale, "offset": put(q.numpy())})
            mod.eval()
        outputs = {}
        with torch.no_grad():
            z = bb(x)
            outputs["backbone"] = z
            h = z
            if proj:
                h = proj(h)
                outputs["projector"] = h
            outputs["predictor"] = pred(h)
        index["models"].append({
            "name": key, "arch": arch, "tensors": tensors,
            "outputs": {k: {"shape": list(v.shape), "dtype": "float32",
                            "offset": put(v.numpy().astype("<f4"))} for k, v in outputs.items()},
        })
    with open("golden.bin", "wb") as f:
        f.write(blob)
    with open("images.bin", "wb") as f:
        f.write(images.tobytes())
    with open("golden.json", "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
