#!/usr/bin/python3
"""Golden vectors for internal/simsiam: PyTorch forward, backward and two SGD steps.

Run with Debian's python3-torch:  /usr/bin/python3 golden.py > golden.json

For each case it builds the model in PyTorch (small widths so the file stays
small), draws the weights and a batch of 8 image pairs from fixed seeds, and
records: the weights, the pixels, the loss, every parameter's gradient, the
running statistics after the step, and the weights after one and after two
SGD steps (momentum 0.9, weight decay 1e-4, lr 0.05, applied to all
parameters as torch.optim.SGD does).

The SimSiam cases (seed and simsiam architectures) carry no "method" key;
the SimCLR cases ("method": "simclr", with their "temperature") train the
simsiam architecture's backbone and projector, without predictor or
stop-gradient, on the NT-Xent loss over the 2N views (nt_xent below), each
view through the model on its own as in the SimSiam cases.

The deep cases ("depth": 2) have two convolutions per backbone stage: the
stride-2 one, then a stride-1 one of the same width (3x3, padding 1), each
followed by ReLU and BatchNorm; cases without the key have depth 1.

Every case is checked for conditioning before it is written: the same two
steps in float64 must give the float32 weights to half the Go test's
tolerance (check_conditioning). Large steps on these tiny models can kill
every ReLU of a channel or leave a BatchNorm variance near eps; the second
step then amplifies rounding so much that float32 PyTorch itself disagrees
with float64 PyTorch (by 3e-2 for one draw tried), and a comparison with Go
would compare rounding noise.
"""
import copy
import json

import torch
import torch.nn as nn
import torch.nn.functional as F


def backbone(chans, depth):
    layers, cin = [], 1
    for c in chans:
        for j in range(depth):
            layers += [nn.Conv2d(cin, c, 3, 2 if j == 0 else 1, 1), nn.ReLU(), nn.BatchNorm2d(c)]
            cin = c
    return nn.Sequential(*layers, nn.Flatten())


def zdim(chans):
    s = 28
    for _ in chans:
        s = (s - 1) // 2 + 1  # 3x3, stride 2, padding 1; the stride-1 convolutions keep it
    return chans[-1] * s * s


class Seed(nn.Module):
    def __init__(self, chans, hidden, depth):
        super().__init__()
        self.depth = depth
        self.backbone = backbone(chans, depth)
        d = zdim(chans)
        self.predictor = nn.Sequential()
        self.predictor.add_module("fc1", nn.Linear(d, hidden))
        self.predictor.add_module("bn1", nn.BatchNorm1d(hidden))
        self.predictor.add_module("relu1", nn.ReLU())
        self.predictor.add_module("fc2", nn.Linear(hidden, d))

    def target(self, x):
        return self.backbone(x)


class SimSiam(nn.Module):
    def __init__(self, chans, proj, hidden, depth):
        super().__init__()
        self.depth = depth
        self.backbone = backbone(chans, depth)
        d = zdim(chans)
        self.projector = nn.Sequential()
        for i, o in enumerate(proj):
            last = i == len(proj) - 1
            self.projector.add_module("fc%d" % (i + 1), nn.Linear(d, o, bias=False))
            self.projector.add_module("bn%d" % (i + 1), nn.BatchNorm1d(o, affine=not last))
            if not last:
                self.projector.add_module("relu%d" % (i + 1), nn.ReLU())
            d = o
        self.predictor = nn.Sequential()
        self.predictor.add_module("fc1", nn.Linear(d, hidden, bias=False))
        self.predictor.add_module("bn1", nn.BatchNorm1d(hidden))
        self.predictor.add_module("relu1", nn.ReLU())
        self.predictor.add_module("fc2", nn.Linear(hidden, d))

    def target(self, x):
        return self.projector(self.backbone(x))


class SimCLR(nn.Module):
    """The simsiam architecture's backbone and projector, no predictor."""

    def __init__(self, chans, proj, depth):
        super().__init__()
        self.depth = depth
        self.backbone = backbone(chans, depth)
        d = zdim(chans)
        self.projector = nn.Sequential()
        for i, o in enumerate(proj):
            last = i == len(proj) - 1
            self.projector.add_module("fc%d" % (i + 1), nn.Linear(d, o, bias=False))
            self.projector.add_module("bn%d" % (i + 1), nn.BatchNorm1d(o, affine=not last))
            if not last:
                self.projector.add_module("relu%d" % (i + 1), nn.ReLU())
            d = o

    def target(self, x):
        return self.projector(self.backbone(x))


def nt_xent(z1, z2, t):
    """SimCLR's loss: cross-entropy of each of the 2N views against the
    other view of its image, over the 2N-1 other views."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    s = (z @ z.t() / t).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(s, target)


def rename(name, depth):
    # nn.Sequential indices -> the agreed checkpoint names: backbone.conv<i>
    # and backbone.bn<i> for stage i's first convolution, backbone.conv<i>_<j>
    # and backbone.bn<i>_<j> for its j-th (j >= 2)
    parts = name.split(".")
    if parts[0] == "backbone":
        idx = int(parts[1])
        layer = idx // 3
        stage, j = layer // depth + 1, layer % depth + 1
        kind = "conv" if idx % 3 == 0 else "bn"
        return "backbone.%s%d%s.%s" % (kind, stage, "" if j == 1 else "_%d" % j, parts[2])
    return name


def loss_fn(model, x1, x2, temperature=None):
    z1, z2 = model.target(x1), model.target(x2)
    if temperature is not None:
        return nt_xent(z1, z2, temperature)
    p1, p2 = model.predictor(z1), model.predictor(z2)
    return -(F.cosine_similarity(p1, z2.detach(), dim=1).mean()
             + F.cosine_similarity(p2, z1.detach(), dim=1).mean()) * 0.5


def flat(t):
    # 9 significant digits round-trip float32 exactly
    return [float("%.9g" % x) for x in t.detach().reshape(-1).tolist()]


def state(model):
    return {rename(k, model.depth): flat(v)
            for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def check_conditioning(ref, x1, x2, temperature, out, seed):
    """Takes the case's two SGD steps on ref, a float64 copy of its model
    before training, and refuses the case (SystemExit) when a weight or
    running statistic after either step differs from the float32 one in
    out by more than half the Go test's tolerance, measured as the Go test
    does (max |difference| / max(max |float64|, 1e-3))."""
    tol = 3e-5  # golden_test.go: SimSiam's, and SimCLR's at t >= 0.5
    if temperature is not None and temperature < 0.5:
        tol *= 0.5 / temperature
    opt = torch.optim.SGD(ref.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    ref.train()
    for key in ("after_step1", "after_step2"):
        loss = loss_fn(ref, x1, x2, temperature)
        opt.zero_grad()
        loss.backward()
        opt.step()
        for k, v in ref.state_dict().items():
            if k.endswith("num_batches_tracked"):
                continue
            name = rename(k, ref.depth)
            got = torch.tensor(out[key][name], dtype=torch.float64)
            err = float((got - v.reshape(-1)).abs().max()) / max(float(v.abs().max()), 1e-3)
            if err > tol / 2:
                raise SystemExit("golden.py: case %s seed %d: %s %s: float32 and float64 differ by %.3g, over %.3g "
                                 "(ill-conditioned: choose another seed)" % (out["arch"], seed, key, name, err, tol / 2))


def case(arch, chans, hidden, proj, seed, temperature=None, depth=1):
    torch.manual_seed(seed)
    if temperature is not None:
        model = SimCLR(chans, proj, depth)
    elif arch == "seed":
        model = Seed(chans, hidden, depth)
    else:
        model = SimSiam(chans, proj, hidden, depth)
    # make BatchNorm scale/shift non-trivial so their gradients are tested
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.affine:
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    g = torch.Generator().manual_seed(seed + 1)
    n = 8
    v1 = torch.randint(0, 256, (n, 1, 28, 28), generator=g, dtype=torch.uint8)
    v2 = torch.randint(0, 256, (n, 1, 28, 28), generator=g, dtype=torch.uint8)
    x1, x2 = v1.float() / 255, v2.float() / 255
    ref = copy.deepcopy(model).double()
    out = {
        "arch": arch, "channels": chans, "pred_hidden": hidden, "proj_dims": proj, "n": n,
        "view1": v1.reshape(-1).tolist(), "view2": v2.reshape(-1).tolist(),
        "shapes": {rename(k, depth): list(v.shape) for k, v in model.state_dict().items()
                   if not k.endswith("num_batches_tracked")},
        "params": state(model),
        "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4,
    }
    if temperature is not None:
        out["method"], out["temperature"] = "simclr", temperature
    if depth != 1:
        out["depth"] = depth
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    model.train()
    loss = loss_fn(model, x1, x2, temperature)
    opt.zero_grad()
    loss.backward()
    out["loss"] = loss.item()
    out["grads"] = {rename(k, depth): flat(p.grad) for k, p in model.named_parameters()}
    opt.step()
    out["after_step1"] = state(model)
    loss2 = loss_fn(model, x1, x2, temperature)
    opt.zero_grad()
    loss2.backward()
    opt.step()
    out["loss2"] = loss2.item()
    out["after_step2"] = state(model)
    check_conditioning(ref, x1.double(), x2.double(), temperature, out, seed)
    return out


if __name__ == "__main__":
    torch.set_num_threads(1)
    cases = [case("seed", [3, 6, 8], 8, [], 1),
             case("simsiam", [3, 6, 8], 8, [24, 16], 2),
             case("simsiam", [3, 6, 8], 0, [24, 16], 3, temperature=0.5),
             case("simsiam", [3, 6, 8], 0, [16, 16, 12], 4, temperature=0.1),
             case("simsiam", [3, 6, 8], 8, [24, 16], 5, depth=2),
             case("simsiam", [3, 6, 8], 0, [16, 12], 11, temperature=0.5, depth=2)]
    print(json.dumps({"torch": torch.__version__, "cases": cases}))
