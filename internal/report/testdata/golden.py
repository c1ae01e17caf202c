#!/usr/bin/python3
"""Golden vectors for internal/report's TestEvaluateMatchesScikitLearn.

Takes the first 1000 train and 500 test images of FashionMNIST (Debian
dataset-fashion-mnist), average-pools them to 7x7 (49 features, rounded to
uint8), and writes

  small.bin    1500 rows of 50 bytes: label, then 49 pooled pixels
               (train rows first, then test rows)
  golden.json  the accuracies of the weighted kNN (numpy, the definition) and
               of scikit-learn's LogisticRegression on StandardScaler
               features, with features = pixels / 255 as float32.

Run from this folder:  /usr/bin/python3 golden.py
"""
import gzip
import json

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

DATA = "/usr/share/datasets/fashion-mnist/"
N_TRAIN, N_TEST = 1000, 500


def idx(name, offset):
    with gzip.open(DATA + name) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(split, n):
    images = idx(split + "-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)[:n]
    labels = idx(split + "-labels-idx1-ubyte.gz", 8)[:n]
    pooled = images.reshape(n, 7, 4, 7, 4).astype(np.float64).mean(axis=(2, 4))
    return np.rint(pooled).astype(np.uint8).reshape(n, 49), labels


def weighted_knn(train, ytrain, test, k, t, classes):
    """Cosine similarity, top k, weights exp(sim/t), largest class total wins
    (the smallest class on ties); similarities in float64."""
    def unit(x):
        x = x.astype(np.float64)
        n = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.where(n == 0, 1, n)

    sim = unit(test) @ unit(train).T
    # stable sort on -sim: equal similarities keep the smaller train index first
    order = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(sim, order, axis=1)
    w = np.exp(top / t)
    scores = np.zeros((len(test), classes))
    for c in range(classes):
        scores[:, c] = (w * (ytrain[order] == c)).sum(axis=1)
    return scores.argmax(axis=1)


def main():
    xtr, ytr = load("train", N_TRAIN)
    xte, yte = load("t10k", N_TEST)
    with open("small.bin", "wb") as f:
        for x, y in ((xtr, ytr), (xte, yte)):
            f.write(np.concatenate([y[:, None], x], axis=1).astype(np.uint8).tobytes())
    ftr = (xtr.astype(np.float32) / np.float32(255)).astype(np.float64)
    fte = (xte.astype(np.float32) / np.float32(255)).astype(np.float64)
    out = {"n_train": N_TRAIN, "n_test": N_TEST, "dim": 49, "knn": [], "probe": [],
           "sklearn": sklearn.__version__}
    for k, t in ((200, 0.1), (20, 0.5), (1, 0.1)):
        pred = weighted_knn(ftr, ytr, fte, k, t, 10)
        out["knn"].append({"k": k, "t": t, "top1": float((pred == yte).mean())})
    scaler = StandardScaler().fit(ftr)
    for c in (1.0, 0.01):
        lr = LogisticRegression(C=c, max_iter=10000, tol=1e-10)
        lr.fit(scaler.transform(ftr), ytr)
        acc = lr.score(scaler.transform(fte), yte)
        out["probe"].append({"c": c, "top1": float(acc)})
    with open("golden.json", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
