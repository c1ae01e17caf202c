#!/usr/bin/python3
"""Write golden vectors for internal/resize from Debian's python3-torchvision.

Run from the repository root:

    /usr/bin/python3 internal/resize/testdata/golden.py

Generated with torchvision 0.14.1 and torch 1.13.1 as Debian 12 ships them
(they report 0.14.1a0 and 1.13.0a0; the
script records the versions and torch's CPU kernel, which was the AVX2 one;
torch's DEFAULT kernel, under ATEN_CPU_CAPABILITY=default, rounds differently:
see internal/resize/weights.go). Output:
internal/resize/testdata/golden.json.gz with

  images  inputs, CHW uint8: stored ones (base64 "pixels"), or generated ones
          the Go test rebuilds from "gen" (no pixels stored):
            noise  sample i of seed s is splitmix.Mix(s<<32 | i) >> 56
            zone   a zone plate, ((x*x + 2*y*y) >> 3) + 85*c, mod 256
  cases   torchvision.transforms.functional.resize(img, [h, w],
          interpolation=BILINEAR, antialias=True) of a uint8 tensor: the bytes,
          or "unchanged" where [h, w] is the input's size (torchvision then
          returns its input as is)
  floats  torch.nn.functional.interpolate(img.float()[None], [h, w],
          mode="bilinear", align_corners=False, antialias=True): the float32
          values before torchvision rounds them (little-endian, base64), to
          check the arithmetic bit for bit, not just after rounding

Stored inputs: three FashionMNIST test images (28x28 grey) and crops of
scikit-learn's sample photos china.jpg and flower.jpg (RGB).
"""
import base64
import gzip
import json
import os
import re

import numpy as np
import torch
import torchvision
import torchvision.transforms.functional as TF
from sklearn.datasets import load_sample_images
from torchvision.transforms import InterpolationMode

FMNIST = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.json.gz")
M64 = (1 << 64) - 1


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def mix(z):
    """internal/splitmix.Mix on a uint64 array."""
    z = z.astype(np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def noise(seed, c, h, w):
    i = np.arange(c * h * w, dtype=np.uint64) | np.uint64(seed << 32)
    return (mix(i) >> np.uint64(56)).astype(np.uint8).reshape(c, h, w)


def zone(c, h, w):
    ch, y, x = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    return ((((x * x + 2 * y * y) >> 3) + 85 * ch) % 256).astype(np.uint8)


def fmnist(indices):
    with gzip.open(FMNIST, "rb") as f:
        data = f.read()
    n, h, w = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    pix = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, h, w)
    return {"t10k-%d" % i: pix[i][None] for i in indices}


def cpu_capability():
    """The kernel torch dispatches to ("AVX2" here; "NO" under ATEN_CPU_CAPABILITY=default)."""
    m = re.search(r"CPU capability usage: (\S+)", torch.__config__.show())
    return m.group(1) if m else "unknown"


def resize_bytes(img, h, w):
    t = torch.from_numpy(img.copy())
    return TF.resize(t, [h, w], interpolation=InterpolationMode.BILINEAR, antialias=True).numpy()


def resize_floats(img, h, w):
    t = torch.from_numpy(img.copy()).float()[None]
    out = torch.nn.functional.interpolate(t, size=[h, w], mode="bilinear", align_corners=False, antialias=True)
    return out[0].numpy().astype("<f4")


def main():
    images, gens = {}, {}
    images.update(fmnist((0, 1, 8)))  # ankle boot, pullover, bag
    china, flower = (np.transpose(a, (2, 0, 1)) for a in load_sample_images().images)
    images["china-120x160"] = china[:, 90:210, 250:410]
    images["china-30x40"] = china[:, 150:180, 300:340]
    images["flower-97x61"] = flower[:, 150:247, 270:331]

    def gen(kind, c, h, w, seed=0):
        name = "%s%s-%dx%dx%d" % (kind, "" if kind == "zone" else "-%d" % seed, c, h, w)
        gens[name] = {"kind": kind, "seed": seed, "channels": c, "height": h, "width": w}
        images[name] = noise(seed, c, h, w) if kind == "noise" else zone(c, h, w)
        return name

    cases = []
    for name in ("t10k-0", "t10k-1", "t10k-8"):
        for h, w in ((14, 14), (20, 12), (40, 40), (32, 32), (7, 7), (28, 28), (1, 1)):
            cases.append((name, h, w))
    cases += [
        ("china-120x160", 32, 32), ("china-120x160", 64, 48), ("china-120x160", 120, 160),
        ("china-30x40", 77, 91), ("china-30x40", 30, 40), ("china-30x40", 30, 17),
        ("flower-97x61", 23, 47), ("flower-97x61", 40, 70), ("flower-97x61", 110, 20),
        (gen("zone", 3, 256, 256), 64, 64), (gen("zone", 1, 256, 256), 37, 100),
        (gen("noise", 1, 1, 50, 1), 1, 7), (gen("noise", 1, 50, 1, 2), 9, 1),
        (gen("noise", 3, 1, 1, 3), 5, 3), (gen("noise", 1, 1, 30, 4), 4, 30),
        (gen("noise", 1, 17, 1, 5), 1, 1), (gen("noise", 3, 1, 40, 6), 1, 90),
        (gen("noise", 1, 1, 28, 7), 1, 28), (gen("noise", 2, 60, 1, 8), 60, 1),
        (gen("noise", 4, 9, 13, 9), 20, 6),
    ]
    # Random shape pairs, noise inputs: outputs land anywhere between integers,
    # so these test the arithmetic near every rounding boundary.
    rng = np.random.default_rng(17)
    for seed in range(100, 132):
        c = int(rng.choice([1, 3]))
        H, W = (int(v) for v in rng.integers(1, 65, 2))
        h, w = (int(v) for v in rng.integers(1, 41, 2))
        cases.append((gen("noise", c, H, W, seed), h, w))

    floats = [
        ("t10k-0", 14, 14), ("t10k-8", 40, 40), ("t10k-1", 20, 12),
        (gen("zone", 1, 256, 256), 64, 64), (gen("zone", 1, 256, 256), 9, 120),
        (gen("noise", 1, 50, 37, 200), 18, 72), (gen("noise", 1, 57, 64, 201), 17, 13),
        (gen("noise", 1, 25, 100, 202), 4, 33), (gen("noise", 1, 64, 8, 203), 81, 3),
    ]

    doc = {"torchvision": torchvision.__version__, "torch": torch.__version__,
           "cpu_capability": cpu_capability(),
           "images": [], "cases": [], "floats": []}
    used = {n for n, _, _ in cases + floats}
    for name in sorted(used):
        a = images[name]
        e = {"name": name, "channels": a.shape[0], "height": a.shape[1], "width": a.shape[2]}
        if name in gens:
            e["gen"] = gens[name]
        else:
            e["pixels"] = b64(a)
        doc["images"].append(e)
    for name, h, w in cases:
        out = resize_bytes(images[name], h, w)
        if (h, w) == images[name].shape[1:]:
            # torchvision returns the input itself: say so rather than store it twice
            assert (out == images[name]).all()
            doc["cases"].append({"image": name, "height": h, "width": w, "unchanged": True})
        else:
            doc["cases"].append({"image": name, "height": h, "width": w, "output": b64(out)})
    for name, h, w in floats:
        f = resize_floats(images[name], h, w)
        if (h, w) != images[name].shape[1:]:
            assert (np.round(f).astype(np.uint8) == resize_bytes(images[name], h, w)).all()
        doc["floats"].append({"image": name, "height": h, "width": w, "values": b64(f)})

    data = json.dumps(doc, separators=(",", ":")).encode("ascii")
    with open(OUT, "wb") as raw, gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as fh:
        fh.write(data)  # no name or time in the header: rerunning gives the same bytes
    print("wrote %s: %d images, %d cases, %d float cases, %d bytes"
          % (OUT, len(doc["images"]), len(doc["cases"]), len(doc["floats"]), os.path.getsize(OUT)))


if __name__ == "__main__":
    main()
