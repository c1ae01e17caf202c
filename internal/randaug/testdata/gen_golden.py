#!/usr/bin/python3
"""Write golden vectors for internal/randaug from Debian's python3-torchvision.

Run from the repository root:

    /usr/bin/python3 internal/randaug/testdata/gen_golden.py

Generated with torchvision 0.14.1 (torch 1.13), the version Debian 12 ships; the
script records the version it ran with and the Go tests print it on mismatch.

Output: internal/randaug/testdata/golden.json.gz with
  images  a few real FashionMNIST test images (plus one non-square synthetic image)
  cases   every RandAugment op applied once, through torchvision's own _apply_op,
          with the magnitude looked up exactly as RandAugment.forward does, at
          several magnitude bins and both signs
  chains  fixed sequences of five ops (composition of the ops above)
  maps    for the five affine ops: which source pixel each output pixel reads
          (-1: outside, filled with 0), found by running torchvision's affine on
          a float image whose pixel values are their own indices; this is
          exactly the sampling RandAugment does, since uint8 images are cast to
          float32 before grid_sample
  linspace / posterize  the magnitude tables, as torch computes them in float32
"""
import base64
import gzip
import json
import os

import numpy as np
import torch
import torchvision
from torchvision.transforms import autoaugment as aa
from torchvision.transforms import InterpolationMode

FMNIST = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.json.gz")

OPS = ["Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate",
       "Brightness", "Color", "Contrast", "Sharpness", "Posterize", "Solarize",
       "AutoContrast", "Equalize"]
AFFINE = ["ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate"]


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def load_images():
    with gzip.open(FMNIST, "rb") as f:
        data = f.read()
    n, h, w = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    pix = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, h, w)
    # t10k 0: ankle boot, 1: pullover, 2: trouser, 8: bag (bright, large area)
    imgs = [("t10k-%d" % i, pix[i]) for i in (0, 1, 2, 8)]
    rng = np.random.default_rng(3)
    syn = rng.integers(0, 256, size=(20, 32), dtype=np.uint8)
    syn[:, :5] = 0  # some constant area, so AutoContrast/Equalize see ties
    imgs.append(("synthetic-20x32", syn))
    return imgs


def magnitude(op, bins, m, negative, h, w):
    """The float magnitude RandAugment.forward passes to _apply_op."""
    meta = torchvision.transforms.RandAugment()._augmentation_space(bins, (h, w))
    mags, signed = meta[op]
    v = float(mags[m].item()) if mags.ndim > 0 else 0.0
    if signed and negative:
        v *= -1.0
    return v, signed


def apply(img, op, bins, m, negative):
    h, w = img.shape
    v, _ = magnitude(op, bins, m, negative, h, w)
    t = torch.from_numpy(img.copy()).unsqueeze(0)  # 1xHxW uint8
    out = aa._apply_op(t, op, v, interpolation=InterpolationMode.NEAREST, fill=None)
    return out.squeeze(0).numpy(), v


def source_map(op, bins, m, negative, h, w):
    v, _ = magnitude(op, bins, m, negative, h, w)
    idx = torch.arange(1, h * w + 1, dtype=torch.float32).reshape(1, h, w)
    out = aa._apply_op(idx, op, v, interpolation=InterpolationMode.NEAREST, fill=None)
    src = out.reshape(-1).round().to(torch.int64).numpy() - 1
    return src.astype("<i4")


def main():
    torch.manual_seed(0)
    imgs = load_images()
    doc = {"torchvision": torchvision.__version__, "torch": torch.__version__,
           "images": [], "cases": [], "chains": [], "maps": [], "linspace": [], "posterize": []}
    for name, a in imgs:
        doc["images"].append({"name": name, "height": a.shape[0], "width": a.shape[1], "pixels": b64(a)})

    signed_bins = [1, 9, 17, 30]
    unsigned_bins = [0, 1, 9, 17, 30]
    for name, a in imgs:
        for op in OPS:
            _, signed = magnitude(op, 31, 0, False, *a.shape)
            if op in ("Identity", "AutoContrast", "Equalize"):
                variants = [(31, 0, False)]
            elif signed:
                variants = [(31, b, s) for b in signed_bins for s in (False, True)]
            else:
                variants = [(31, b, False) for b in unsigned_bins]
            if op in ("Brightness", "Contrast", "Sharpness", "Posterize", "Solarize", "TranslateX", "Rotate"):
                variants += [(11, 7, False), (11, 7, True)] if signed else [(11, 7, False)]
            for bins, m, neg in variants:
                out, v = apply(a, op, bins, m, neg)
                doc["cases"].append({"image": name, "op": op, "bins": bins, "magnitude": m,
                                     "negative": neg, "value": v, "output": b64(out)})

    rng = np.random.default_rng(11)
    for name, a in imgs:
        for _ in range(6):
            chain = []
            out = a
            for _ in range(5):
                op = OPS[int(rng.integers(len(OPS)))]
                neg = bool(rng.integers(2))
                out, _ = apply(out, op, 31, 9, neg)
                chain.append({"op": op, "negative": neg})
            doc["chains"].append({"image": name, "bins": 31, "magnitude": 9, "ops": chain, "output": b64(out)})

    for h, w in ((28, 28), (20, 32), (33, 17)):
        bins_list = range(31) if (h, w) == (28, 28) else (1, 9, 30)
        for op in AFFINE:
            for m in bins_list:
                for neg in (False, True):
                    doc["maps"].append({"height": h, "width": w, "op": op, "bins": 31, "magnitude": m,
                                        "negative": neg, "src": b64(source_map(op, 31, m, neg, h, w))})

    for steps in (2, 3, 7, 11, 31, 32, 64):
        for start, end in ((0.0, 0.3), (0.0, 30.0), (0.0, 0.9), (255.0, 0.0),
                           (0.0, 150.0 / 331.0 * 28), (0.0, 150.0 / 331.0 * 17)):
            vals = torch.linspace(start, end, steps).tolist()
            doc["linspace"].append({"start": start, "end": end, "steps": steps, "values": vals})
        meta = torchvision.transforms.RandAugment()._augmentation_space(steps, (28, 28))
        doc["posterize"].append({"bins": steps, "bits": meta["Posterize"][0].tolist()})

    with gzip.open(OUT, "wt", compresslevel=9) as f:
        json.dump(doc, f, separators=(",", ":"))
    print("wrote %s: %d cases, %d chains, %d maps" % (OUT, len(doc["cases"]), len(doc["chains"]), len(doc["maps"])))


if __name__ == "__main__":
    main()
