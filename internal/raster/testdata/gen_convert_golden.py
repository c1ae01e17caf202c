#!/usr/bin/python3
"""Write golden vectors for internal/raster's channel conversions from PIL.

Run from the repository root:

    /usr/bin/python3 internal/raster/testdata/gen_convert_golden.py

Generated with Debian 12's python3-pil 9.4 (the script records the version).

Output: internal/raster/testdata/convert_golden.json.gz with
  grey   RGB (or RGBA) inputs and PIL's Image.convert('L') of them:
         two crops of scikit-learn's sample photos (china.jpg, flower.jpg),
         every colour whose channels are all in {0, 1, 127, 128, 254, 255},
         sweeps of one channel (the others 0, then the others 255), the grey
         ramp, colours whose luma sits next to a rounding boundary, and an
         RGBA image (PIL ignores alpha)
  rgb    grey (or RGBA) inputs and PIL's Image.convert('RGB') of them
  cube_sha256  SHA-256 of convert('L') of all 2^24 colours, taken in the
         order r, g, b (b fastest): the Go test recomputes it, so every
         colour is checked without storing 16 MB
Pixels are base64 of the CHW bytes (raster.Image's layout), not PIL's HWC.
"""
import base64
import gzip
import hashlib
import json
import os

import numpy as np
import PIL
from PIL import Image
from sklearn.datasets import load_sample_images

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "convert_golden.json.gz")


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def chw(hwc):
    return np.transpose(hwc, (2, 0, 1))


def grey_case(name, hwc):
    mode = "RGBA" if hwc.shape[2] == 4 else "RGB"
    out = np.asarray(Image.fromarray(hwc, mode).convert("L"))
    return {"name": name, "channels": hwc.shape[2], "height": hwc.shape[0], "width": hwc.shape[1],
            "input": b64(chw(hwc)), "output": b64(out)}


def rgb_case(name, img):
    if img.ndim == 2:
        mode, c, inp = "L", 1, img
    else:
        mode, c, inp = "RGBA", 4, chw(img)
    out = np.asarray(Image.fromarray(img, mode).convert("RGB"))
    return {"name": name, "channels": c, "height": img.shape[0], "width": img.shape[1],
            "input": b64(inp), "output": b64(chw(out))}


def row(colours):
    return np.asarray(colours, dtype=np.uint8).reshape(1, -1, 3)


def main():
    china, flower = load_sample_images().images  # 427x640x3 each
    grey = [
        grey_case("china-crop-32x48", china[200:232, 300:348]),
        grey_case("flower-crop-40x40", flower[180:220, 260:300]),
    ]
    edge = [0, 1, 127, 128, 254, 255]
    grey.append(grey_case("edges", row([(r, g, b) for r in edge for g in edge for b in edge])))
    v = np.arange(256)
    z, f = np.zeros(256, int), np.full(256, 255)
    for ch, name in enumerate("rgb"):
        for other, oname in ((z, "0"), (f, "255")):
            cols = [other, other, other]
            cols[ch] = v
            grey.append(grey_case("sweep-%s-others-%s" % (name, oname), row(np.stack(cols, -1))))
    grey.append(grey_case("grey-ramp", row(np.stack([v, v, v], -1))))
    # Colours whose 16-bit luma fraction is just below, at and just above one half:
    # where truncating, rounding half up and rounding half to even would differ.
    idx = np.arange(1 << 24, dtype=np.int64)
    r, g, b = idx >> 16, (idx >> 8) & 255, idx & 255
    frac = (r * 19595 + g * 38470 + b * 7471) & 0xFFFF
    near = []
    for target in (0x7FFF, 0x8000, 0x8001):
        hit = idx[frac == target]
        near.extend(hit[np.linspace(0, len(hit) - 1, 128).astype(int)].tolist())
    grey.append(grey_case("near-half", row([(c >> 16, (c >> 8) & 255, c & 255) for c in near])))
    rng = np.random.default_rng(5)
    rgba = np.concatenate([china[100:116, 100:124], rng.integers(0, 256, (16, 24, 1), dtype=np.uint8)], -1)
    grey.append(grey_case("rgba-china-16x24", rgba))

    rgb = [
        rgb_case("grey-ramp-16x16", v.astype(np.uint8).reshape(16, 16)),
        rgb_case("rgba-china-16x24", rgba),
    ]

    cube = np.stack([r, g, b], -1).astype(np.uint8).reshape(4096, 4096, 3)
    cube_sha = hashlib.sha256(np.asarray(Image.fromarray(cube, "RGB").convert("L")).tobytes()).hexdigest()

    doc = {"pil": PIL.__version__, "grey": grey, "rgb": rgb, "cube_sha256": cube_sha}
    data = json.dumps(doc, separators=(",", ":")).encode("ascii")
    with open(OUT, "wb") as raw, gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as fh:
        fh.write(data)  # no name or time in the header: rerunning gives the same bytes
    print("wrote %s: %d grey cases, %d rgb cases" % (OUT, len(grey), len(rgb)))


if __name__ == "__main__":
    main()
