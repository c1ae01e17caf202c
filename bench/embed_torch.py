#!/usr/bin/python3
"""PyTorch side of bench/embed.sh: the reference eval-mode forward of embed's models.

  embed_torch.py weights ARCH SEED OUT   write random weights (and BatchNorm running
                                         statistics) of ARCH as OUT.json + OUT.bin
                                         (raw little-endian float32) for embed_ckpt.go
  embed_torch.py bench ARCH SEED LAYER BATCH THREADS REPEATS [OUT]
                                         images/s of model(x) under torch.no_grad()
                                         in eval mode on the 10,000 FashionMNIST test
                                         images, best of REPEATS passes, by wall clock
                                         and per CPU second (all threads); OUT gets
                                         the outputs (raw float32) for the cross-check

Architectures as agreed for siampipe checkpoints (PyTorch state_dict names):
seed = backbone + predictor 2048-64-2048; simsiam = backbone + projector
2048-512(BN, ReLU)-512(BN without affine) + predictor 512-128(BN, ReLU)-512.
"""
import gzip
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn

IDX = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        c = 1
        for i, co in enumerate([32, 64, 128], 1):
            setattr(self, f"conv{i}", nn.Conv2d(c, co, 3, stride=2, padding=1))
            setattr(self, f"bn{i}", nn.BatchNorm2d(co))
            c = co

    def forward(self, x):
        for i in (1, 2, 3):
            x = getattr(self, f"bn{i}")(torch.relu(getattr(self, f"conv{i}")(x)))
        return torch.flatten(x, 1)


class Projector(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.bn1 = nn.Linear(2048, 512, bias=False), nn.BatchNorm1d(512)
        self.fc2, self.bn2 = nn.Linear(512, 512, bias=False), nn.BatchNorm1d(512, affine=False)

    def forward(self, z):
        return self.bn2(self.fc2(torch.relu(self.bn1(self.fc1(z)))))


class Predictor(nn.Module):
    def __init__(self, d, hidden, bias1=True):
        super().__init__()
        self.fc1, self.bn1 = nn.Linear(d, hidden, bias=bias1), nn.BatchNorm1d(hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, z):
        return self.fc2(torch.relu(self.bn1(self.fc1(z))))


def build(arch, seed):
    torch.manual_seed(seed)
    parts = {"backbone": Backbone()}
    if arch == "simsiam":
        parts["projector"] = Projector()
        parts["predictor"] = Predictor(512, 128, bias1=False)
    else:
        parts["predictor"] = Predictor(2048, 64)
    g = torch.Generator().manual_seed(seed)
    for m in parts.values():
        for name, t in m.state_dict().items():
            if name.endswith("running_mean"):
                t.copy_(torch.randn(t.shape, generator=g) * 0.2)
            elif name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
        m.eval()
    return parts


def forward(parts, layer):
    seq = [parts["backbone"]]
    if layer != "backbone":
        if "projector" in parts:
            seq.append(parts["projector"])
        if layer == "predictor":
            seq.append(parts["predictor"])
    return nn.Sequential(*seq).eval()


def images():
    with gzip.open(IDX) as f:
        raw = f.read()
    n = int.from_bytes(raw[4:8], "big")
    x = np.frombuffer(raw, np.uint8, n * 784, 16).reshape(n, 1, 28, 28)
    return torch.from_numpy(x.astype(np.float32)) / 255


def main():
    cmd = sys.argv[1]
    if cmd == "weights":
        arch, seed, out = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        blob, index = bytearray(), []
        for prefix, m in build(arch, seed).items():
            for name, t in m.state_dict().items():
                if name.endswith("num_batches_tracked"):
                    continue
                index.append({"name": f"{prefix}.{name}", "shape": list(t.shape), "offset": len(blob)})
                blob.extend(t.numpy().astype("<f4").tobytes())
        with open(out + ".bin", "wb") as f:
            f.write(blob)
        with open(out + ".json", "w") as f:
            json.dump({"arch": arch, "tensors": index}, f)
        return
    arch, seed, layer, batch, threads, repeats = sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
    torch.set_num_threads(threads)
    model = forward(build(arch, seed), layer)
    x = images()
    best, best_cpu = 0.0, 0.0
    with torch.no_grad():
        model(x[:batch])  # warm-up
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            outs = [model(x[i:i + batch]) for i in range(0, len(x), batch)]
            best = max(best, len(x) / (time.perf_counter() - t0))
            best_cpu = max(best_cpu, len(x) / (time.process_time() - c0))
    if len(sys.argv) > 8:
        with open(sys.argv[8], "wb") as f:
            f.write(torch.cat(outs).numpy().astype("<f4").tobytes())
    print(f"{best:.0f} {best_cpu:.0f}")


if __name__ == "__main__":
    main()
