#!/usr/bin/python3
"""umap-learn side of bench/reduce.sh, and the quality measures for both sides.

Runs umap-learn (Debian package umap-learn) on PREFIX.X.npy with the reduce stage's default
settings (n_components 3, n_neighbors 10, min_dist 0.1, spread 1.0, umap-learn's epoch rule,
init spectral), timed from `import umap` to the end of fit_transform in this fresh process
(so JIT warm-up is included). By default random_state is None: umap-learn's fastest,
multi-threaded and non-reproducible mode; --umap-seed N runs its seeded, single-threaded mode.

Then, for umap-learn's embedding and for reduce's (--ours, an .npy of coords):
  trustworthiness: sklearn.manifold.trustworthiness, k = 10, input metric = --metric, on a
                   fixed 5,000-point sample (numpy RandomState(0).choice without replacement)
  5-NN accuracy:   KNeighborsClassifier(5) on the 3-D coords, StratifiedKFold(5, shuffle,
                   random_state 0), mean accuracy
Prints one markdown table row per side (wall and CPU seconds), and appends a JSON line to --json if given.
"""
import argparse
import json
import resource
import time

import numpy as np


def quality(X, y, E, metric, sample):
    from sklearn.manifold import trustworthiness
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    tw = trustworthiness(X[sample], E[sample], n_neighbors=10, metric=metric)
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    acc = cross_val_score(KNeighborsClassifier(n_neighbors=5), E, y, cv=cv).mean()
    return float(tw), float(acc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="prefix of .X.npy / .y.npy")
    ap.add_argument("--name", required=True)
    ap.add_argument("--metric", default="cosine")
    ap.add_argument("--ours", help="reduce's coords as .npy")
    ap.add_argument("--ours-seconds", type=float, help="reduce's wall time")
    ap.add_argument("--ours-cpu", type=float, help="reduce's user + system CPU time")
    ap.add_argument("--umap-seed", type=int, default=None)
    ap.add_argument("--json")
    a = ap.parse_args()

    X = np.load(a.data + ".X.npy")
    y = np.load(a.data + ".y.npy")
    n = X.shape[0]
    sample = np.random.RandomState(0).choice(n, size=min(5000, n), replace=False)

    def cpu():
        ru = resource.getrusage(resource.RUSAGE_SELF)  # all threads of this process
        return ru.ru_utime + ru.ru_stime

    t0, c0 = time.time(), cpu()
    import umap

    reducer = umap.UMAP(n_components=3, n_neighbors=10, metric=a.metric, min_dist=0.1,
                        spread=1.0, random_state=a.umap_seed)
    E_ref = reducer.fit_transform(X)
    t_ref, c_ref = time.time() - t0, cpu() - c0

    rows = []
    tw, acc = quality(X, y, E_ref, a.metric, sample)
    mode = "seed %d, 1 thread" % a.umap_seed if a.umap_seed is not None else "unseeded, threaded"
    rows.append({"data": a.name, "impl": "umap-learn %s (%s)" % (umap.__version__, mode),
                 "n": n, "dim": X.shape[1], "seconds": t_ref, "cpu": c_ref, "trust": tw, "knn5": acc})
    if a.ours:
        E = np.load(a.ours)
        tw2, acc2 = quality(X, y, E, a.metric, sample)
        rows.append({"data": a.name, "impl": "reduce (Go)", "n": n, "dim": X.shape[1],
                     "seconds": a.ours_seconds, "cpu": a.ours_cpu, "trust": tw2, "knn5": acc2,
                     "time_ratio": a.ours_seconds / t_ref if a.ours_seconds else None,
                     "cpu_ratio": a.ours_cpu / c_ref if a.ours_cpu else None,
                     "d_trust": tw2 - tw, "d_knn5": acc2 - acc})
    def fmtv(v, fmt):
        return fmt % v if v is not None else ""

    for r in rows:
        print("| %s | %d x %d | %s | %s | %s | %.4f | %.4f | %s | %s | %s | %s |" % (
            r["data"], r["n"], r["dim"], r["impl"], fmtv(r["seconds"], "%.1f"), fmtv(r["cpu"], "%.1f"),
            r["trust"], r["knn5"], fmtv(r.get("time_ratio"), "%.2fx"), fmtv(r.get("cpu_ratio"), "%.2fx"),
            fmtv(r.get("d_trust"), "%+.4f"), fmtv(r.get("d_knn5"), "%+.4f")), flush=True)
        if a.json:
            with open(a.json, "a") as f:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
