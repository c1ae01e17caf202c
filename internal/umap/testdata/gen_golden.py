#!/usr/bin/python3
"""Golden vectors for internal/umap from umap-learn (Debian package umap-learn 0.5.x).

Run from this directory with Debian's Python:  /usr/bin/python3 gen_golden.py > golden.json
Writes: a k-NN distance matrix (rows ascending, the point itself first at 0; one row with
a duplicate point, one with all-duplicate neighbours), umap-learn's smooth_knn_dist sigmas and
rhos for it (k = 6, local_connectivity 1 and 1.5), and find_ab_params for several settings.
"""
import json
import numpy as np
from umap.umap_ import smooth_knn_dist, find_ab_params

rng = np.random.RandomState(6)
n, k = 12, 6
d = np.sort(rng.gamma(2.0, 0.5, size=(n, k - 1)), axis=1)
d = np.hstack([np.zeros((n, 1)), d]).astype(np.float32)
d[3, 1] = 0.0          # a duplicate point: first non-zero distance is the second neighbour
d[7, :] = 0.0          # every neighbour a duplicate
d = np.sort(d, axis=1)
out = {"n": n, "k": k, "dists": d.ravel().tolist(), "smooth": [], "ab": []}
for lc in (1.0, 1.5):
    sig, rho = smooth_knn_dist(d, float(k), local_connectivity=lc)
    out["smooth"].append({"local_connectivity": lc, "sigma": sig.tolist(), "rho": rho.tolist()})
for spread, md in ((1.0, 0.1), (1.0, 0.0), (1.0, 0.5), (2.0, 0.25), (0.5, 0.05)):
    a, b = find_ab_params(spread, md)
    out["ab"].append({"spread": spread, "min_dist": md, "a": float(a), "b": float(b)})
print(json.dumps(out, indent=1))
