#!/usr/bin/python3
"""Export scikit-learn's digits data set (1,797 8x8 images of 0..9, shipped
with python3-sklearn) as an ImageFolder tree of grey PNGs:

    OUT/<digit>/<row, 4 digits>.png

Pixel values 0..16 are scaled to 0..255 (round(v*255/16)). Class folders are
named 0..9, so their sorted order is the label order.

Usage: /usr/bin/python3 tests/data/digits.py OUT
"""
import os
import sys

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    d = load_digits()
    px = np.rint(d.images * 255.0 / 16.0).astype(np.uint8)
    for i, (img, label) in enumerate(zip(px, d.target)):
        folder = os.path.join(out, str(label))
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(img, mode="L").save(os.path.join(folder, f"{i:04d}.png"))
    print(f"digits.py: {len(px)} images in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
