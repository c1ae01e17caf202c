#!/usr/bin/python3
"""Reference throughput: torchvision's RandAugment applied per image.

Measures views/s of torchvision.transforms.RandAugment(num_ops, magnitude)
applied to one 1x28x28 uint8 image tensor at a time (how a Dataset's transform
runs), on the first N FashionMNIST training images, in P processes (P=1: one
process, as DataLoader(num_workers=0); P=2: both cores, as num_workers=2).
torch's intra-op threads are set to 1 per process (28x28 ops are too small to
split). Prints one JSON line: views/s of wall time (slowest process) and
views per CPU second (all processes; insensitive to other load on the machine). Written for Debian's python3-torchvision 0.14.1.

    /usr/bin/python3 bench/augment_torchvision.py --images 5000 --procs 1
"""
import argparse
import gzip
import json
import multiprocessing as mp
import time

import numpy as np

IMAGES = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def load(n):
    with gzip.open(IMAGES, "rb") as f:
        data = f.read()
    count, h, w = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    n = min(n, count)
    return np.frombuffer(data, dtype=np.uint8, offset=16, count=n * h * w).reshape(n, 1, h, w)


def work(args):
    lo, hi, num_ops, magnitude, seed = args
    import torch
    import torchvision
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t = torch.from_numpy(load(hi).copy())[lo:hi]
    ra = torchvision.transforms.RandAugment(num_ops=num_ops, magnitude=magnitude)
    for i in range(min(50, len(t))):  # warm up
        ra(t[i])
    start, cpu = time.perf_counter(), time.process_time()
    views = 0
    for i in range(len(t)):
        ra(t[i])
        ra(t[i])  # two views per image, as augment makes pairs
        views += 2
    return views, time.perf_counter() - start, time.process_time() - cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--num-ops", type=int, default=5)
    ap.add_argument("--magnitude", type=int, default=9)
    a = ap.parse_args()
    import torchvision
    per = a.images // a.procs
    jobs = [(k * per, (k + 1) * per, a.num_ops, a.magnitude, k) for k in range(a.procs)]
    wall = time.perf_counter()
    if a.procs == 1:
        res = [work(jobs[0])]
    else:
        with mp.get_context("fork").Pool(a.procs) as pool:
            res = pool.map(work, jobs)
    wall = time.perf_counter() - wall
    views = sum(r[0] for r in res)
    slowest = max(r[1] for r in res)
    cpu = sum(r[2] for r in res)
    print(json.dumps({"impl": "torchvision %s RandAugment" % torchvision.__version__, "procs": a.procs,
                      "images": per * a.procs, "views": views, "seconds": round(slowest, 3),
                      "views_per_s": round(views / slowest, 1), "cpu_s": round(cpu, 3),
                      "views_per_cpu_s": round(views / cpu, 1), "wall_s": round(wall, 2)}))


if __name__ == "__main__":
    main()
