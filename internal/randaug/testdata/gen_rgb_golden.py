#!/usr/bin/python3
"""Write golden vectors for internal/randaug on RGB (3 x H x W uint8) tensors
from Debian's python3-torchvision.

Run from the repository root:

    /usr/bin/python3 internal/randaug/testdata/gen_rgb_golden.py

Generated with torchvision 0.14.1 (torch 1.13); the script records the version
it ran with. The inputs are small crops and downscales of the two real photos
scikit-learn ships (sklearn.datasets.load_sample_images: china.jpg and
flower.jpg, 427x640), made with PIL's box filter, so the vectors need nothing
beyond the Debian packages.

Output: internal/randaug/testdata/rgb_golden.json.gz with
  images  china-32x32 (the pagoda), flower-24x40 (the whole photo, non-square)
          and china-40x24-flatblue (tall, its blue channel set to a constant
          so AutoContrast and Equalize meet a flat channel), CHW bytes; and
          flower-64x80, whose outputs are stored as SHA-256 digests only.
          Two larger images are not stored but computed by a formula the Go
          test repeats (formula_image): formula-240x320 and formula-97x61;
          their outputs are digests too
  cases   every RandAugment op applied once through torchvision's _apply_op,
          with the magnitude looked up as RandAugment.forward does, at several
          magnitude bins and both signs; the output in full at bin 9 (the
          pipeline's) positive and for the ops without magnitude, elsewhere
          as its SHA-256 ("sha256"), to keep the file small
  chains  RandAugment(num_ops=5, magnitude=9 or 30) called on the tensor under
          torch.manual_seed(k); the ops and signs it drew are recorded by
          wrapping _apply_op, so the Go test replays them with Apply
  crops   F.resized_crop(img, top, left, h, w, [H, W], BILINEAR) on the tensor
          (antialias off, torchvision 0.14's tensor default). On 3 channels
          torch runs its separable generic kernel, whose sums GCC fuses into
          multiply-adds in the AVX2 build; the script records the CPU
          capability torch ran with (cpu_capability), as the vectors depend
          on it (ATEN_CPU_CAPABILITY=default moves a few values by one)
  flips   F.hflip of every image
  maps    for the five affine ops on larger images (96x128, 127x201, 224x224):
          the SHA-256 of the source index of every output pixel (int32 little
          endian, -1 outside), found as gen_golden.py finds its maps, on a
          3-channel image of pixel indices (all channels must agree)
  grey    F.rgb_to_grayscale of all 2^24 colours as the SHA-256 of the 2^24
          bytes in colour order r<<16|g<<8|b, and, in full, the colours where
          torch's float32 sum truncates to another integer than the exact
          0.2989 r + 0.587 g + 0.114 b does
"""
import base64
import gzip
import hashlib
import json
import math
import os

import numpy as np
import torch
import torchvision
import torchvision.transforms.functional as F
from PIL import Image
from sklearn.datasets import load_sample_images
from torchvision.transforms import InterpolationMode
from torchvision.transforms import autoaugment as aa

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rgb_golden.json.gz")

OPS = ["Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate",
       "Brightness", "Color", "Contrast", "Sharpness", "Posterize", "Solarize",
       "AutoContrast", "Equalize"]


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def sha(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def load_images():
    """(name, 3xHxW uint8 array, full) for the golden images."""
    sample = load_sample_images()
    photos = {os.path.basename(name): img for name, img in zip(sample.filenames, sample.images)}

    def down(name, w, h):
        return np.asarray(Image.fromarray(photos[name]).resize((w, h), Image.BOX))

    china = down("china.jpg", 160, 107)[30:62, 30:62]      # the pagoda, 32x32
    flower = down("flower.jpg", 40, 27)[1:25]              # whole photo, 24x40
    tall = down("china.jpg", 80, 53)[8:48, 54:78].copy()   # trees, lake, sky: 40x24
    tall[:, :, 2] = 200                                    # a flat blue channel
    big = down("flower.jpg", 120, 80)[8:72, 20:100]        # 64x80, digests only
    chw = lambda a: np.ascontiguousarray(a.transpose(2, 0, 1))
    return [("china-32x32", chw(china), True), ("flower-24x40", chw(flower), True),
            ("china-40x24-flatblue", chw(tall), True), ("flower-64x80", chw(big), False)]


def formula_image(h, w):
    """A 3 x h x w uint8 image from integer arithmetic the Go test repeats:
    ramps, a pattern and a flat block, values below 218 on average so that
    adjust_contrast's float32 sum stays exact (below 2^24) at 240x320."""
    c, y, x = np.meshgrid(np.arange(3), np.arange(h), np.arange(w), indexing="ij")
    v = (x * (c + 1) + y * (3 - c) + ((x * y) ^ (x + 5 * y + 11 * c)) % 41) % 200
    v[:, h // 4:h // 2, w // 4:w // 2] = 17 + 60 * c[:, h // 4:h // 2, w // 4:w // 2]
    return np.ascontiguousarray(v.astype(np.uint8))


def magnitude(op, bins, m, negative, h, w):
    """The float magnitude RandAugment.forward passes to _apply_op."""
    meta = torchvision.transforms.RandAugment()._augmentation_space(bins, (h, w))
    mags, signed = meta[op]
    v = float(mags[m].item()) if mags.ndim > 0 else 0.0
    if signed and negative:
        v *= -1.0
    return v, signed


def apply(img, op, bins, m, negative):
    _, h, w = img.shape
    v, _ = magnitude(op, bins, m, negative, h, w)
    out = aa._apply_op(torch.from_numpy(img.copy()), op, v, interpolation=InterpolationMode.NEAREST, fill=None)
    assert out.dtype == torch.uint8 and tuple(out.shape) == img.shape
    return out.numpy(), v


def variants(op, full):
    """(bins, magnitude, negative) settings of op."""
    _, signed = magnitude(op, 31, 0, False, 8, 8)
    if op in ("Identity", "AutoContrast", "Equalize"):
        return [(31, 0, False)]
    if not full:
        return [(31, 9, False), (31, 9, True)] if signed else [(31, 9, False)]
    if op in ("Posterize", "Solarize"):
        return [(31, m, False) for m in (0, 9, 17, 30)]
    if op in ("Brightness", "Color", "Contrast", "Sharpness"):
        return [(31, m, s) for m in (1, 9, 17, 30) for s in (False, True)]
    return [(31, m, s) for m in (1, 9, 30) for s in (False, True)]  # affine


def record_randaugment(img, seed, magnitude_bin):
    """RandAugment(5, magnitude_bin) of img under seed, and the ops it drew."""
    drawn = []
    real = aa._apply_op

    def spy(img, op_name, magnitude, interpolation, fill):
        assert fill is None
        drawn.append({"op": op_name, "negative": math.copysign(1.0, magnitude) < 0})
        return real(img, op_name, magnitude, interpolation=interpolation, fill=fill)

    aa._apply_op = spy
    try:
        torch.manual_seed(seed)
        out = torchvision.transforms.RandAugment(num_ops=5, magnitude=magnitude_bin)(torch.from_numpy(img.copy()))
    finally:
        aa._apply_op = real
    return out.numpy(), drawn


def boxes(rng, h, w):
    fixed = [(0, 0, h, w), (h // 2, w // 2, 1, 1), (h // 3, 0, 1, w), (0, w // 4, h, 1),
             (3, 5, h // 2 + 3, w // 2 - 2), (2, 3, h - 3, w - 4), (h - 8, w - 9, 8, 9)]
    for _ in range(4):
        bh, bw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
        fixed.append((int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1)), bh, bw))
    return fixed


def source_map_digest(op, bins, m, negative, h, w):
    v, _ = magnitude(op, bins, m, negative, h, w)
    idx = torch.arange(1, h * w + 1, dtype=torch.float32).reshape(1, h, w).expand(3, h, w).contiguous()
    out = aa._apply_op(idx, op, v, interpolation=InterpolationMode.NEAREST, fill=None)
    assert torch.equal(out[0], out[1]) and torch.equal(out[0], out[2])
    src = out[0].reshape(-1).round().to(torch.int64).numpy() - 1
    return sha(src.astype("<i4"))


def grey_vectors():
    x = torch.arange(1 << 24, dtype=torch.int64)
    rgb = torch.stack([(x >> 16) & 255, (x >> 8) & 255, x & 255]).to(torch.uint8).reshape(3, 4096, 4096)
    g = F.rgb_to_grayscale(rgb).reshape(-1).numpy()
    c = rgb.reshape(3, -1).numpy().astype(np.float64)
    exact = np.floor(0.2989 * c[0] + 0.587 * c[1] + 0.114 * c[2])
    odd = np.nonzero(exact != g)[0]
    return {"sha256": sha(g), "colors": [int(i) for i in odd], "values": [int(g[i]) for i in odd]}


def main():
    imgs = load_images()
    cap = [l.split(":")[1].strip() for l in torch.__config__.show().splitlines() if "CPU capability usage" in l]
    doc = {"torchvision": torchvision.__version__, "torch": torch.__version__,
           "cpu_capability": os.environ.get("ATEN_CPU_CAPABILITY") or (cap[0] if cap else "unknown"),
           "images": [], "formulas": [], "cases": [], "chains": [], "crops": [], "flips": [], "maps": [],
           "grey": grey_vectors()}
    formulas = [("formula-240x320", formula_image(240, 320), False), ("formula-97x61", formula_image(97, 61), False)]
    for name, a, _ in imgs:
        doc["images"].append({"name": name, "channels": 3, "height": a.shape[1], "width": a.shape[2], "pixels": b64(a)})
    for name, a, _ in formulas:
        doc["formulas"].append({"name": name, "height": a.shape[1], "width": a.shape[2], "sha256": sha(a)})

    for name, a, full in imgs + formulas:
        for op in OPS:
            for bins, m, neg in variants(op, full):
                out, v = apply(a, op, bins, m, neg)
                c = {"image": name, "op": op, "bins": bins, "magnitude": m, "negative": neg, "value": v}
                if full and m in (0, 9) and not neg:
                    c["output"] = b64(out)
                else:
                    c["sha256"] = sha(out)
                doc["cases"].append(c)

    seed = 0
    for name, a, full in imgs + formulas:
        for mag in (9, 30):
            for _ in range(3 if full else 2):
                out, drawn = record_randaugment(a, seed, mag)
                c = {"image": name, "seed": seed, "bins": 31, "magnitude": mag, "ops": drawn}
                if full:
                    c["output"] = b64(out)
                else:
                    c["sha256"] = sha(out)
                doc["chains"].append(c)
                seed += 1

    rng = np.random.default_rng(23)
    for name, a, full in imgs + formulas:
        _, h, w = a.shape
        t = torch.from_numpy(a.copy())
        flipped = F.hflip(t).numpy()
        doc["flips"].append({"image": name, "output": b64(flipped)} if full else {"image": name, "sha256": sha(flipped)})
        for top, left, bh, bw in boxes(rng, h, w):
            out = F.resized_crop(t, top, left, bh, bw, [h, w], interpolation=InterpolationMode.BILINEAR)
            assert out.dtype == torch.uint8 and tuple(out.shape) == a.shape
            c = {"image": name, "top": top, "left": left, "height": bh, "width": bw}
            if full:
                c["output"] = b64(out.numpy())
            else:
                c["sha256"] = sha(out.numpy())
            doc["crops"].append(c)

    for h, w in ((96, 128), (127, 201), (224, 224)):
        for op in ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate"):
            for m in (1, 9, 30):
                for neg in (False, True):
                    doc["maps"].append({"height": h, "width": w, "op": op, "bins": 31, "magnitude": m, "negative": neg,
                                        "sha256": source_map_digest(op, 31, m, neg, h, w)})

    with gzip.open(OUT, "wt", compresslevel=9) as f:
        json.dump(doc, f, separators=(",", ":"))
    print("wrote %s (%d bytes): %d cases, %d chains, %d crops, %d flips, %d maps, %d odd grey colours" % (
        OUT, os.path.getsize(OUT), len(doc["cases"]), len(doc["chains"]), len(doc["crops"]),
        len(doc["flips"]), len(doc["maps"]), len(doc["grey"]["colors"])))


if __name__ == "__main__":
    main()
