#!/usr/bin/python3
"""Write golden vectors for internal/randaug's crop and flip (crop.go) from
Debian's python3-torchvision.

Run from the repository root:

    /usr/bin/python3 internal/randaug/testdata/gen_crop_golden.py

Generated with torchvision 0.14.1 (torch 1.13), the version Debian 12 ships. In
that version F.resized_crop / F.resize on a tensor default to antialias=False
(functional_tensor.resize: "if antialias is None: antialias = False"), and so
does RandomResizedCrop(antialias=None); later torchvision versions changed the
default to True. A crop is at most the image, so resizing it back only
enlarges, where the antialiased kernel is the same triangle, but torch's
antialiased path rounds differently (about 0.25% of pixels off by one).

Output: internal/randaug/testdata/crop_golden.json.gz with
  images   a few real FashionMNIST test images and one non-square synthetic one
  crops    F.resized_crop(img, top, left, h, w, [H, W], BILINEAR) on the 1xHxW
           uint8 tensor, for fixed boxes (full image, 1x1, single rows and
           columns, off-centre, non-square, near-full) and seeded random ones
  flips    F.hflip of every image
  weights  for every crop length n = 1..size: the n -> size bilinear weight
           matrix torch uses (found by resizing an identity matrix along one
           axis), float32 row-major size x n
  fallback RandomResizedCrop.get_params's fallback box (the central crop) for
           a few image shapes, forced with a scale range no attempt can meet
  stats    RandomResizedCrop(28, scale=(lo, 1)).get_params over many draws of
           torch's generator: mean area fraction, its standard deviation, mean
           log aspect ratio and how often the whole image comes back
"""
import base64
import gzip
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as TF
import torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode

FMNIST = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "crop_golden.json.gz")
RATIO = (3.0 / 4.0, 4.0 / 3.0)


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def load_images():
    with gzip.open(FMNIST, "rb") as f:
        data = f.read()
    n, h, w = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    pix = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, h, w)
    # t10k 0: ankle boot, 1: pullover, 2: trouser, 8: bag, 13: dress, 21: sandal
    imgs = [("t10k-%d" % i, pix[i]) for i in (0, 1, 2, 8, 13, 21)]
    rng = np.random.default_rng(5)
    imgs.append(("synthetic-20x32", rng.integers(0, 256, size=(20, 32), dtype=np.uint8)))
    return imgs


def fixed_boxes(h, w):
    """(top, left, height, width) boxes inside an h x w image."""
    boxes = [
        (0, 0, h, w),                      # full image: resize is the identity
        (0, 0, 1, 1), (h // 2, w // 2, 1, 1), (h - 1, w - 1, 1, 1),  # one pixel
        (h // 3, 0, 1, w), (0, w // 4, h, 1),  # one row, one column
        (0, 0, h - 1, w), (1, 0, h - 1, w), (0, 1, h, w - 1), (0, 0, h, w // 2),
        (3, 5, h // 2 + 3, w // 2 - 2),    # off-centre, non-square
        (h // 3, 2, h // 3, w - 7),        # wide
        (2, w // 3, h - 6, w // 3),        # tall
        (h // 4, w // 4, h // 2, w // 2),  # central half
        (h - 8, w - 9, 8, 9),              # bottom-right corner
        (2, 3, h - 3, w - 4),              # near-full, off-centre
        (0, 0, 2, 2), (5, 7, 2, 3), (4, 1, 3, 2),
    ]
    for t, l, bh, bw in boxes:
        assert 0 <= t and 0 <= l and bh > 0 and bw > 0 and t + bh <= h and l + bw <= w, (t, l, bh, bw)
    return boxes


def random_boxes(rng, h, w, k):
    out = []
    for _ in range(k):
        bh = int(rng.integers(1, h + 1))
        bw = int(rng.integers(1, w + 1))
        out.append((int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1)), bh, bw))
    return out


def resized_crop(img, t, l, bh, bw):
    x = torch.from_numpy(img.copy()).unsqueeze(0)  # 1xHxW uint8
    h, w = img.shape
    out = F.resized_crop(x, t, l, bh, bw, [h, w], interpolation=InterpolationMode.BILINEAR)
    assert out.dtype == torch.uint8 and tuple(out.shape) == (1, h, w)
    return out.squeeze(0).numpy()


def weight_matrix(n, size):
    """The size x n matrix of the bilinear weights torch resizes n -> size with."""
    eye = torch.eye(n, dtype=torch.float32)[None, None]  # column k: impulse at k
    m = TF.interpolate(eye, size=[size, n], mode="bilinear", align_corners=False)
    return m[0, 0].numpy().astype("<f4")


def main():
    torch.manual_seed(0)
    imgs = load_images()
    doc = {"torchvision": torchvision.__version__, "torch": torch.__version__,
           "images": [], "crops": [], "flips": [], "weights": [], "fallback": [], "stats": []}
    for name, a in imgs:
        doc["images"].append({"name": name, "height": a.shape[0], "width": a.shape[1], "pixels": b64(a)})
        flipped = F.hflip(torch.from_numpy(a.copy()).unsqueeze(0)).squeeze(0).numpy()
        doc["flips"].append({"image": name, "output": b64(flipped)})

    rng = np.random.default_rng(17)
    for k, (name, a) in enumerate(imgs):
        h, w = a.shape
        boxes = fixed_boxes(h, w)
        boxes += random_boxes(rng, h, w, 30 if k < 2 or h != w else 6)
        for t, l, bh, bw in boxes:
            doc["crops"].append({"image": name, "top": t, "left": l, "height": bh, "width": bw,
                                 "output": b64(resized_crop(a, t, l, bh, bw))})

    for size in (28, 20, 32):
        for n in range(1, size + 1):
            doc["weights"].append({"n": n, "size": size, "w": b64(weight_matrix(n, size))})

    for h, w in ((28, 28), (20, 32), (32, 20), (28, 21), (21, 28), (10, 40), (40, 10), (1, 1), (1, 5)):
        img = torch.zeros(1, h, w, dtype=torch.uint8)
        t, l, bh, bw = T.RandomResizedCrop.get_params(img, [4.0, 5.0], list(RATIO))
        doc["fallback"].append({"height": h, "width": w, "top": t, "left": l, "h": bh, "w": bw})

    img = torch.zeros(1, 28, 28, dtype=torch.uint8)
    draws = 40000
    for lo in (0.08, 0.2, 0.5, 0.9):
        area, log_ratio, whole = [], [], 0
        for _ in range(draws):
            t, l, bh, bw = T.RandomResizedCrop.get_params(img, [lo, 1.0], list(RATIO))
            assert 0 <= t and 0 <= l and t + bh <= 28 and l + bw <= 28
            area.append(bh * bw / 784.0)
            log_ratio.append(math.log(bw / bh))
            whole += (bh, bw) == (28, 28)
        area = np.array(area)
        doc["stats"].append({"height": 28, "width": 28, "scale_lo": lo, "draws": draws,
                             "mean_area": float(area.mean()), "std_area": float(area.std()),
                             "mean_log_ratio": float(np.mean(log_ratio)), "whole": whole / draws})

    with gzip.open(OUT, "wt", compresslevel=9) as f:
        json.dump(doc, f, separators=(",", ":"))
    print("wrote %s: %d crops, %d flips, %d weight matrices, %d fallbacks, %d stats" % (
        OUT, len(doc["crops"]), len(doc["flips"]), len(doc["weights"]), len(doc["fallback"]), len(doc["stats"])))


if __name__ == "__main__":
    main()
