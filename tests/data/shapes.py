#!/usr/bin/python3
"""A synthetic RGB data set where colour carries part of the class: six
classes, three shapes (disc, square, triangle) times two colour families
(warm: red-orange hues; cool: blue-cyan hues), drawn at random positions,
sizes and rotations on a noisy background of random grey level. A grey copy
of the images cannot tell the two colour families apart (their hues are
drawn at matched luma), so a model must see colour to reach full accuracy.

    OUT/<class>/<row, 5 digits>.png    (32x32 RGB PNGs)

Usage: /usr/bin/python3 tests/data/shapes.py OUT [--per-class N] [--seed S]
"""
import argparse
import colorsys
import math
import os
import sys

import numpy as np
from PIL import Image, ImageDraw

SIZE = 32
SHAPES = ["disc", "square", "triangle"]
FAMILIES = {"warm": (0.0, 0.10), "cool": (0.52, 0.66)}  # hue ranges


def luma(rgb):
    r, g, b = rgb
    return 0.299 * r + 0.587 * g + 0.114 * b


def colour(rng, family, target_luma):
    """A saturated colour of the family's hues whose luma is near target."""
    lo, hi = FAMILIES[family]
    h = rng.uniform(lo, hi)
    s = rng.uniform(0.6, 1.0)
    best = None
    for v in np.linspace(0.2, 1.0, 81):
        rgb = tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(h, s, v))
        d = abs(luma(rgb) - target_luma)
        if best is None or d < best[0]:
            best = (d, rgb)
    return best[1]


def draw(rng, shape, family):
    bg = rng.uniform(20, 235)
    noise = rng.normal(0, 12, (SIZE, SIZE, 1)).repeat(3, axis=2)
    base = np.clip(bg + noise, 0, 255).astype(np.uint8)
    img = Image.fromarray(base, mode="RGB")
    d = ImageDraw.Draw(img)
    # Shape luma far enough from the background to be visible in grey.
    target = (bg + 90) % 200 + 30
    fill = colour(rng, family, target)
    r = rng.uniform(6, 12)
    cx, cy = rng.uniform(r, SIZE - r), rng.uniform(r, SIZE - r)
    a = rng.uniform(0, 2 * math.pi)
    if shape == "disc":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    else:
        k = 4 if shape == "square" else 3
        pts = [(cx + r * math.cos(a + 2 * math.pi * i / k), cy + r * math.sin(a + 2 * math.pi * i / k)) for i in range(k)]
        d.polygon(pts, fill=fill)
    return img


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--per-class", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    classes = [f"{f}-{s}" for f in FAMILIES for s in SHAPES]
    row = 0
    for name in classes:
        os.makedirs(os.path.join(args.out, name), exist_ok=True)
    for i in range(args.per_class):
        for name in classes:
            family, shape = name.split("-")
            draw(rng, shape, family).save(os.path.join(args.out, name, f"{row:05d}.png"))
            row += 1
    print(f"shapes.py: {row} images of {len(classes)} classes in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
