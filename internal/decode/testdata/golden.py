#!/usr/bin/python3
"""Writes the golden test images of internal/decode and the pixels PIL
decodes from them.

Run from anywhere with the system Python (PIL 9.4, numpy):

    /usr/bin/python3 internal/decode/testdata/golden.py

For every image NAME it writes NAME and NAME.pil: the samples PIL gives
after Image.open(NAME).convert(MODE), MODE being "L" for greyscale files
(the ones Decode gives one channel) and "RGB" for all others, stored
channel-major (CHW) like raster.Image. decode_test.go lists each file with
its shape and the tolerance it allows.

One deliberate exception: grey16.png (16-bit greyscale). PIL opens it as
mode "I" and convert("L") clips every value above 255 to 255, which turns
almost every pixel white; Decode keeps the high byte instead, so
grey16.png.pil holds PIL's 16-bit values shifted right by 8.
"""

import os

import numpy as np
from PIL import Image

OUT = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240611)


def noise(h, w, c=None):
    shape = (h, w) if c is None else (h, w, c)
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def smooth(h, w):
    """An RGB image JPEG can carry well: gradients, a disc, a bar."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / (w - 1)
    g = 255 * y / (h - 1)
    b = 128 + 100 * np.sin(x / 4.0) * np.cos(y / 5.0)
    disc = (x - w / 2) ** 2 + (y - h / 2) ** 2 < (h / 3) ** 2
    r[disc], g[disc], b[disc] = 230, 200, 40
    b[:, 2:5] = 20
    return np.clip(np.stack([r, g, b], axis=2).round(), 0, 255).astype(np.uint8)


def write(name, im, mode, **save):
    path = os.path.join(OUT, name)
    im.save(path, **save)
    back = Image.open(path)
    if name == "grey16.png":
        assert back.mode == "I", back.mode
        pix = (np.asarray(back, dtype=np.int64) >> 8).astype(np.uint8)[None]
    else:
        pix = np.asarray(back.convert(mode), dtype=np.uint8)
        pix = pix[None] if pix.ndim == 2 else pix.transpose(2, 0, 1)
    with open(path + ".pil", "wb") as f:
        f.write(np.ascontiguousarray(pix).tobytes())
    print(f"{name:14s} {back.mode:4s} -> {mode:3s} {pix.shape} {os.path.getsize(path)} bytes")


def main():
    h, w = 7, 13
    write("grey.png", Image.fromarray(noise(h, w), "L"), "L")
    write("rgb.png", Image.fromarray(noise(h, w, 3), "RGB"), "RGB")

    rgba = noise(h, w, 4)
    rgba[0, :4, 3] = [0, 1, 128, 255]  # transparent pixels keep their colour
    write("rgba.png", Image.fromarray(rgba, "RGBA"), "RGB")

    la = noise(h, w, 2)
    write("la.png", Image.fromarray(la, "LA"), "RGB")

    pal = Image.fromarray(rng.integers(0, 16, size=(h, w), dtype=np.uint8), "P")
    pal.putpalette(noise(16, 3).flatten().tolist())
    write("paletted.png", pal, "RGB", transparency=3)

    g16 = rng.integers(0, 65536, size=(h, w), dtype=np.uint16)
    g16[0, :4] = [0, 255, 256, 65535]
    write("grey16.png", Image.fromarray(g16, "I;16"), "L")

    write("rgb.bmp", Image.fromarray(noise(h, w, 3), "RGB"), "RGB")
    write("rgb.tif", Image.fromarray(noise(h, w, 3), "RGB"), "RGB", compression="tiff_lzw")
    write("rgba.tif", Image.fromarray(noise(h, w, 4), "RGBA"), "RGB")
    write("rgb.gif", pal.convert("RGB").quantize(16), "RGB")
    write("rgb.webp", Image.fromarray(noise(h, w, 3), "RGB"), "RGB", lossless=True)

    jh, jw = 25, 33  # odd, so the chroma blocks of 4:2:0 overhang
    photo = Image.fromarray(smooth(jh, jw), "RGB")
    write("rgb444.jpg", photo, "RGB", quality=90, subsampling=0)
    write("rgb420.jpg", photo, "RGB", quality=90, subsampling=2)
    write("grey.jpg", photo.convert("L"), "L", quality=90)

    # Grey with a transparent value (tRNS): Go's PNG decoder returns NRGBA,
    # PIL keeps mode "L"; Decode follows the header and gives one channel.
    write("grey_trns.png", Image.fromarray(noise(h, w), "L"), "L", transparency=7)


if __name__ == "__main__":
    main()
