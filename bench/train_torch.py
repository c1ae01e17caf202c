#!/usr/bin/python3
"""PyTorch reference for bench/train.sh: ms per SimSiam training step.

Same model, batch and thread count as `go test -bench TrainStep` in
internal/simsiam: the seed model (conv 1-32-64-128, ReLU, BN; predictor
2048-64-2048), two views of a batch of random 28x28 images, the symmetric
negative-cosine loss, SGD momentum 0.9, weight decay 1e-4, on --threads
threads (torch.set_num_threads).

Usage: /usr/bin/python3 bench/train_torch.py [--arch seed|simsiam] [--batch 256] [--steps 20] [--threads 1]
Prints one line: arch, threads, the median wall ms/step of the timed steps
(the first three are warm-up), CPU ms/step (mean), peak RSS in MiB.
"""
import argparse
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def backbone():
    layers, cin = [], 1
    for c in (32, 64, 128):
        layers += [nn.Conv2d(cin, c, 3, 2, 1), nn.ReLU(), nn.BatchNorm2d(c)]
        cin = c
    return nn.Sequential(*layers, nn.Flatten())


def model(arch):
    if arch == "seed":
        return backbone(), nn.Identity(), nn.Sequential(
            nn.Linear(2048, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 2048))
    # stages/train's simsiam defaults: projector 256-256, predictor hidden 64.
    proj = nn.Sequential(nn.Linear(2048, 256, bias=False), nn.BatchNorm1d(256), nn.ReLU(),
                         nn.Linear(256, 256, bias=False), nn.BatchNorm1d(256, affine=False))
    pred = nn.Sequential(nn.Linear(256, 64, bias=False), nn.BatchNorm1d(64), nn.ReLU(),
                         nn.Linear(64, 256))
    return backbone(), proj, pred


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="seed")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    f, g, h = model(a.arch)
    params = list(f.parameters()) + list(g.parameters()) + list(h.parameters())
    opt = torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-4)
    v1 = torch.randint(0, 256, (a.batch, 1, 28, 28), dtype=torch.uint8)
    v2 = torch.randint(0, 256, (a.batch, 1, 28, 28), dtype=torch.uint8)
    times, cpu = [], []
    for i in range(a.steps + 3):
        t0, c0 = time.perf_counter(), time.process_time()
        x1, x2 = v1.float() / 255, v2.float() / 255
        z1, z2 = g(f(x1)), g(f(x2))
        p1, p2 = h(z1), h(z2)
        loss = -(F.cosine_similarity(p1, z2.detach(), dim=1).mean()
                 + F.cosine_similarity(p2, z1.detach(), dim=1).mean()) * 0.5
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= 3:
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("torch %s batch %d threads %d: %.1f ms/step (median of %d), %.1f cpu-ms/step, peak RSS %.0f MiB"
          % (a.arch, a.batch, a.threads, statistics.median(times), len(times), statistics.mean(cpu), rss))


if __name__ == "__main__":
    main()
