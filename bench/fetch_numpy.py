#!/usr/bin/python3
"""Reference decode for bench/fetch.sh: Python's gzip + numpy reading the
FashionMNIST train split (images and labels), the way the usual loaders do."""
import gzip
import sys

import numpy as np

d = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
with gzip.open(f"{d}/train-images-idx3-ubyte.gz", "rb") as f:
    images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28)
with gzip.open(f"{d}/train-labels-idx1-ubyte.gz", "rb") as f:
    labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
assert images.shape[0] == labels.shape[0] == 60000
