#!/usr/bin/python3
"""Exports FashionMNIST to a folder of PNG files in torchvision's
ImageFolder layout, for testing and timing the fetch stage's --folder input:

    OUT/train/<class folder>/<index>.png   (60000 images)
    OUT/test/<class folder>/<index>.png    (10000 images)

Class folders are named "<label>-<class name>" (0-t-shirt-top, 1-trouser,
..., 9-ankle-boot), so that they sort in label order and a folder reader
gives back FashionMNIST's labels. <index> is the image's position in its
split, zero-padded to 5 digits, so sorting the paths of a class gives the
split's original order within that class. Images are 28x28 greyscale PNGs
written by PIL.

Usage: /usr/bin/python3 tests/data/fmnist_png.py OUT [--limit N] [--src DIR]
  --limit N  export only the first N images of each split (it must
             include every class: a few dozen do)
  --src DIR  the IDX .gz files (default /usr/share/datasets/fashion-mnist,
             Debian's dataset-fashion-mnist package)
OUT must not exist yet; the tree is written under OUT.tmp and renamed to
OUT when complete, so an interrupted export leaves no OUT behind.
"""

import argparse
import gzip
import os
import struct
import sys

from PIL import Image

CLASSES = ["t-shirt-top", "trouser", "pullover", "dress", "coat",
           "sandal", "shirt", "sneaker", "bag", "ankle-boot"]
SPLITS = {"train": "train", "test": "t10k"}


def read_idx(path, ndim):
    """Returns (dims, data) of an unsigned-byte IDX file."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, typ, n = struct.unpack(">HBB", data[:4])
    if zero != 0 or typ != 0x08 or n != ndim:
        sys.exit(f"{path}: not an IDX file of {ndim}-dimensional unsigned bytes")
    dims = struct.unpack(">" + "I" * n, data[4:4 + 4 * n])
    return dims, memoryview(data)[4 + 4 * n:]


def export(src, out, limit):
    for split, prefix in SPLITS.items():
        (count, h, w), pix = read_idx(os.path.join(src, f"{prefix}-images-idx3-ubyte.gz"), 3)
        (nlab,), labels = read_idx(os.path.join(src, f"{prefix}-labels-idx1-ubyte.gz"), 1)
        if nlab != count:
            sys.exit(f"{split}: {count} images but {nlab} labels")
        n = count if limit is None else min(limit, count)
        missing = set(range(len(CLASSES))) - set(labels[:n])
        if missing:
            # An empty class folder would be refused by the reader, and
            # leaving it out would shift the labels of the classes after it.
            sys.exit(f"{split}: the first {n} images leave class {min(missing)} ({CLASSES[min(missing)]}) "
                     "without images; use a larger --limit")
        folders = [os.path.join(out, split, f"{i}-{name}") for i, name in enumerate(CLASSES)]
        for d in folders:
            os.makedirs(d)
        size = h * w
        for i in range(n):
            im = Image.frombytes("L", (w, h), bytes(pix[i * size:(i + 1) * size]))
            im.save(os.path.join(folders[labels[i]], f"{i:05d}.png"))
        print(f"{split}: {n} images", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--limit", type=int, default=None, help="images per split (default all)")
    p.add_argument("--src", default="/usr/share/datasets/fashion-mnist")
    a = p.parse_args()
    if a.limit is not None and a.limit < 0:
        sys.exit("--limit must be >= 0")
    if not os.path.exists(os.path.join(a.src, "train-images-idx3-ubyte.gz")):
        sys.exit(f"no FashionMNIST in {a.src}: apt-get install dataset-fashion-mnist, or give --src")
    out = a.out.rstrip("/")
    if os.path.exists(out):
        sys.exit(f"{out} exists; remove it or choose another OUT")
    tmp = out + ".tmp"
    if os.path.exists(tmp):
        import shutil
        shutil.rmtree(tmp)
    export(a.src, tmp, a.limit)
    os.rename(tmp, out)


if __name__ == "__main__":
    main()
