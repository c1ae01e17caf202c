#!/usr/bin/python3
"""Reference for bench/eval.sh: the raw-pixel baseline of eval done with numpy
and scikit-learn (Debian python3-numpy, python3-sklearn) on the same machine.

  weighted kNN: pixels/255 as float32, l2-normalised, cosine similarity by
                float32 matrix products (numpy's BLAS, all cores), top k by
                argpartition, weights exp(sim/t), largest class total wins
  linear probe: StandardScaler fitted on the subset, then
                LogisticRegression(C, lbfgs, tol, max_iter) on a stratified
                subset of each fraction (train_test_split, random_state=0)

Prints one JSON object with accuracies and wall times.
Usage: /usr/bin/python3 bench/eval_reference.py [--k 200] [--t 0.1]
       [--fractions 0.01,0.1,1.0] [--max-iter 100] [--tol 1e-4]
"""
import argparse
import gzip
import json
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

DATA = "/usr/share/datasets/fashion-mnist/"


def load(split):
    with gzip.open(DATA + split + "-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(DATA + split + "-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    return x.astype(np.float32) / np.float32(255), y


def knn(xtr, ytr, xte, k, t, classes=10, block=1000):
    def unit(x):
        n = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.where(n == 0, 1, n)

    tr, te = unit(xtr), unit(xte)
    pred = np.empty(len(te), dtype=np.int64)
    matmul = 0.0
    for s in range(0, len(te), block):
        t0 = time.time()
        sim = te[s:s + block] @ tr.T
        matmul += time.time() - t0
        idx = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(sim, idx, axis=1).astype(np.float64)
        w = np.exp(top / t)
        scores = np.zeros((len(sim), classes))
        lab = ytr[idx]
        for c in range(classes):
            scores[:, c] = (w * (lab == c)).sum(axis=1)
        pred[s:s + block] = scores.argmax(axis=1)
    return pred, matmul


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=200)
    ap.add_argument("--t", type=float, default=0.1)
    ap.add_argument("--fractions", default="0.01,0.1,1.0")
    ap.add_argument("--c", type=float, default=1.0)
    ap.add_argument("--max-iter", type=int, default=100)
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    out = {"knn": {}, "linear": []}
    t0 = time.time()
    pred, matmul = knn(xtr, ytr, xte, a.k, a.t)
    out["knn"] = {"k": a.k, "t": a.t, "top1": float((pred == yte).mean()), "seconds": time.time() - t0,
                  "matmul_seconds": matmul}
    for f in [float(v) for v in a.fractions.split(",") if v]:
        t0 = time.time()
        if f < 1:
            xs, _, ys, _ = train_test_split(xtr, ytr, train_size=f, stratify=ytr, random_state=0)
        else:
            xs, ys = xtr, ytr
        sc = StandardScaler().fit(xs)
        lr = LogisticRegression(C=a.c, max_iter=a.max_iter, tol=a.tol)
        lr.fit(sc.transform(xs), ys)
        acc = lr.score(sc.transform(xte), yte)
        out["linear"].append({"label_fraction": f, "top1": float(acc), "n_train": len(ys),
                              "iterations": int(lr.n_iter_[0]), "seconds": time.time() - t0})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
