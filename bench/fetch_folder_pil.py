#!/usr/bin/python3
"""Reference for bench/fetch_folder.sh: decodes every image of a folder tree
with PIL, the way torchvision's ImageFolder loader does
(Image.open(path).convert("L"), then the bytes), on N processes, and prints
the rate.

Usage: /usr/bin/python3 bench/fetch_folder_pil.py DIR [--procs N]

Files are found as siampipe's folder reader finds them: recursively, in
sorted order, names starting with '.' skipped. The time counted starts
after the listing and the start of the processes, and covers opening,
decoding and converting every file;
the images are not kept, only their bytes are touched.
"""

import argparse
import multiprocessing
import os
import sys
import time

from PIL import Image


def list_files(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out.extend(os.path.join(dirpath, f) for f in sorted(filenames) if not f.startswith("."))
    return out


def decode(path):
    with Image.open(path) as im:
        return len(im.convert("L").tobytes())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dir")
    p.add_argument("--procs", type=int, default=2, help="decoding processes (default 2)")
    a = p.parse_args()
    files = list_files(a.dir)
    if not files:
        sys.exit(f"no files in {a.dir}")
    with multiprocessing.Pool(a.procs) as pool:
        start = time.perf_counter()
        total = sum(pool.imap(decode, files, chunksize=256))
    secs = time.perf_counter() - start
    print(f"PIL, {a.procs} processes: {len(files)} images ({total} bytes) in {secs:.2f} s, "
          f"{len(files) / secs:.0f} images/s")


if __name__ == "__main__":
    main()
