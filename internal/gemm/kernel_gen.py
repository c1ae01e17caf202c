#!/usr/bin/python3
"""Writes kernel_amd64.s and kernel_decl_amd64.go: the micro-kernels and
packers of package gemm, in Go assembly.

avx512Tile{r} (r = 1..14, AVX-512F) and avx2Tile{r} (r = 1..6, AVX2+FMA) each
compute one r x NR tile of C (NR = 32 and 16):

    acc[i][j] = sum over p < k of A[p*S + i] * B[p*NR + j]    (FMA, p in order)
    C[i*ldc + j] = alpha*acc[i][j] + beta*C[i*ldc + j]         if load != 0
    C[i*ldc + j] = alpha*acc[i][j]                             if load == 0

for i < r and j < cols (cols <= NR; the other columns of C are neither read
nor written). A is a packed row tile (k-major, a slot of S floats per p, of
which the first r are used: S = 16 and 8), B a packed column panel (k-major,
NR floats per p). The second line is one FMA. The r x NR sums stay in
registers: 2r zmm (28 of 32 for r = 14) or 2r ymm (12 of 16 for r = 6).

avx512RowTile{r} is avx512Tile{r} reading A where it lies, row-major (row i
of the tile at a + i*lda floats, p in order): the same sums, with no packed
A tile; the fourteen rows are addressed from two bases and lda, 3lda, 5lda.
avx512ColTile{r} reads a transposed A in place (element p of row i at a +
p*lda + i): the packed tile's layout with lda for its slot. Both read row p
of B at b + p*ldb: a packed panel (ldb = 32) or a row-major B in place.

The packers: avx512Copy32 and avx2Copy16 copy rows of up to 32 and 16
floats (B panels, and A tiles of a transposed A); transpose8 transposes 8
rows at a time with 8x8 in-register blocks (A tiles of A, and B panels of
a transposed B). kernel.go and pack.go state their contracts.

Run: /usr/bin/python3 kernel_gen.py (go generate).
"""

L = []
w = L.append

ARGS = [("CX", "k", 0), ("SI", "a", 8), ("DI", "b", 16), ("DX", "c", 24), ("R8", "ldc", 32)]
FRAME = "$0-64"  # k a b c ldc (8 each), alpha beta (4 each), cols load (8 each)


def header(name):
    w(f"// func {name}(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)")
    w(f"TEXT ·{name}(SB), NOSPLIT, $0-64")
    for reg, arg, off in ARGS:
        w(f"\tMOVQ {arg}+{off}(FP), {reg}")
    w("\tSHLQ $2, R8")


def loop(name, r, vec, nr, breg, bcast, zero, addr, advance, bstep=None):
    """The k loop of an r-row tile: B's two vectors at (DI), then for each
    row i a broadcast of A's element from addr(i) and two FMAs; then the
    pointer advances (instructions) and DI by one B row: bstep, a register
    holding B's row stride in bytes, or a packed panel's nr floats."""
    vbytes = nr * 2  # two vectors of nr/2 floats
    for i in range(2 * r):
        w(f"\t{zero} {vec}{i}, {vec}{i}, {vec}{i}")
    w("\tTESTQ CX, CX")
    w(f"\tJZ epi{name}")
    w(f"loop{name}:")
    w(f"\tVMOVUPS (DI), {vec}{breg}")
    w(f"\tVMOVUPS {vbytes}(DI), {vec}{breg+1}")
    for i in range(r):
        b = f"{vec}{bcast[i % len(bcast)]}"
        w(f"\tVBROADCASTSS {addr(i)}, {b}")
        w(f"\tVFMADD231PS {vec}{breg}, {b}, {vec}{2*i}")
        w(f"\tVFMADD231PS {vec}{breg+1}, {b}, {vec}{2*i+1}")
    for ins in advance:
        w(f"\t{ins}")
    w(f"\tADDQ {bstep or f'${4*nr}'}, DI")
    w("\tDECQ CX")
    w(f"\tJNZ loop{name}")
    w(f"epi{name}:")


def avx512(r):
    name = f"avx512Tile{r}"
    header(name)
    loop(name, r, "Z", 32, 28, [30, 31], "VPXORD", lambda i: f"{4*i}(SI)", ["ADDQ $64, SI"])
    epilogue512(name, r, "cols+48(FP)", "alpha+40(FP)", "beta+44(FP)", "load+56(FP)")


# The in-place tiles' signature (rowTileFunc).
ROWTILE = "(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, cols, load int)"

# Row addresses of rowTile's A rows 0..13 (lda bytes in R11, 3·lda in R12,
# 5·lda in R13; R14 = row 7): base + index*scale forms only.
ROWADDR = ["(SI)", "(SI)(R11*1)", "(SI)(R11*2)", "(SI)(R12*1)", "(SI)(R11*4)", "(SI)(R13*1)",
           "(SI)(R12*2)", "(R14)", "(SI)(R11*8)", "(R14)(R11*2)", "(SI)(R13*2)", "(R14)(R11*4)",
           "(SI)(R12*4)", "(R14)(R12*2)"]


def header_lda(name):
    """The entry of a tile that reads A in place: lda (bytes) in R11, and
    B's row stride ldb (bytes) in R10."""
    w(f"// func {name}{ROWTILE}")
    w(f"TEXT ·{name}(SB), NOSPLIT, $0-80")
    w("\tMOVQ k+0(FP), CX")
    w("\tMOVQ a+8(FP), SI")
    w("\tMOVQ lda+16(FP), R11")
    w("\tMOVQ b+24(FP), DI")
    w("\tMOVQ ldb+32(FP), R10")
    w("\tMOVQ c+40(FP), DX")
    w("\tMOVQ ldc+48(FP), R8")
    w("\tSHLQ $2, R8")
    w("\tSHLQ $2, R11")
    w("\tSHLQ $2, R10")


def avx512row(r):
    """avx512RowTile{r}: avx512Tile{r} with A read in place, row-major (row i
    of the tile at a + i*lda, element p at +4p): no packed A tile."""
    name = f"avx512RowTile{r}"
    header_lda(name)
    w("\tLEAQ (R11)(R11*2), R12")
    w("\tLEAQ (R11)(R11*4), R13")
    w("\tLEAQ (SI)(R12*2), R14")
    w("\tADDQ R11, R14")
    loop(name, r, "Z", 32, 28, [30, 31], "VPXORD", lambda i: ROWADDR[i], ["ADDQ $4, SI", "ADDQ $4, R14"], "R10")
    epilogue512(name, r, "cols+64(FP)", "alpha+56(FP)", "beta+60(FP)", "load+72(FP)")


def avx512col(r):
    """avx512ColTile{r}: avx512Tile{r} with a transposed A read in place
    (element p of tile row i at a + p*lda + i): no packed A tile."""
    name = f"avx512ColTile{r}"
    header_lda(name)
    loop(name, r, "Z", 32, 28, [30, 31], "VPXORD", lambda i: f"{4*i}(SI)", ["ADDQ R11, SI"], "R10")
    epilogue512(name, r, "cols+64(FP)", "alpha+56(FP)", "beta+60(FP)", "load+72(FP)")


def epilogue512(name, r, cols, alpha, beta, load):
    """C = alpha·acc (+ beta·C if load) for an r×32 tile in Z0..Z(2r-1)."""
    w(f"\tMOVQ {cols}, CX")
    w("\tMOVQ $1, AX")
    w("\tSHLQ CX, AX")
    w("\tDECQ AX")
    w("\tKMOVW AX, K1")
    w("\tSHRQ $16, AX")
    w("\tKMOVW AX, K2")
    w(f"\tVBROADCASTSS {alpha}, Z28")
    w(f"\tVBROADCASTSS {beta}, Z29")
    for i in range(2 * r):
        w(f"\tVMULPS Z28, Z{i}, Z{i}")
    w("\tMOVQ DX, R9")
    w(f"\tMOVQ {load}, AX")
    w("\tTESTQ AX, AX")
    w(f"\tJZ store{name}")
    for i in range(r):
        if i:
            w("\tADDQ R8, R9")
        w("\tVMOVUPS.Z (R9), K1, Z30")
        w("\tVMOVUPS.Z 64(R9), K2, Z31")
        w(f"\tVFMADD231PS Z30, Z29, Z{2*i}")
        w(f"\tVFMADD231PS Z31, Z29, Z{2*i+1}")
    w("\tMOVQ DX, R9")
    w(f"store{name}:")
    for i in range(r):
        if i:
            w("\tADDQ R8, R9")
        w(f"\tVMOVUPS Z{2*i}, K1, (R9)")
        w(f"\tVMOVUPS Z{2*i+1}, K2, 64(R9)")
    w("\tVZEROUPPER")
    w("\tRET")
    w("")


def avx2(r):
    name = f"avx2Tile{r}"
    header(name)
    loop(name, r, "Y", 16, 12, [14, 15], "VXORPS", lambda i: f"{4*i}(SI)", ["ADDQ $32, SI"])
    # column masks from avx2Mask (8 times -1, then 8 times 0): the mask of
    # the first c columns of a vector starts at avx2Mask + 4*(8-c).
    w("\tMOVQ cols+48(FP), CX")
    w("\tMOVQ $8, AX")
    w("\tCMPQ CX, AX")
    w("\tCMOVQLT CX, AX")  # AX = min(cols, 8)
    w("\tSUBQ AX, CX")  # CX = cols - AX (0..8)
    w("\tLEAQ ·avx2Mask+32(SB), R10")
    w("\tSHLQ $2, AX")
    w("\tSUBQ AX, R10")  # R10 = mask of the first vector
    w("\tLEAQ ·avx2Mask+32(SB), R11")
    w("\tSHLQ $2, CX")
    w("\tSUBQ CX, R11")  # R11 = mask of the second vector
    w("\tVBROADCASTSS alpha+40(FP), Y12")
    w("\tVBROADCASTSS beta+44(FP), Y13")
    w("\tMOVQ load+56(FP), AX")
    for h, m in ((0, "R10"), (1, "R11")):
        w(f"\tVMOVDQU ({m}), Y14")
        w("\tMOVQ DX, R9")
        w("\tTESTQ AX, AX")
        w(f"\tJZ store{name}h{h}")
        for i in range(r):
            if i:
                w("\tADDQ R8, R9")
            acc = f"Y{2*i+h}"
            w(f"\tVMULPS Y12, {acc}, {acc}")
            w(f"\tVMASKMOVPS {32*h}(R9), Y14, Y15")
            w(f"\tVFMADD231PS Y15, Y13, {acc}")
            w(f"\tVMASKMOVPS {acc}, Y14, {32*h}(R9)")
        w(f"\tJMP done{name}h{h}")
        w(f"store{name}h{h}:")
        for i in range(r):
            if i:
                w("\tADDQ R8, R9")
            acc = f"Y{2*i+h}"
            w(f"\tVMULPS Y12, {acc}, {acc}")
            w(f"\tVMASKMOVPS {acc}, Y14, {32*h}(R9)")
        w(f"done{name}h{h}:")
    w("\tVZEROUPPER")
    w("\tRET")
    w("")


def mask512(reg_cols, k1="K1", k2="K2"):
    """K1, K2 = the masks of the first reg_cols (1..32) lanes of two zmm."""
    w(f"\tMOVQ {reg_cols}, CX")
    w("\tMOVQ $1, AX")
    w("\tSHLQ CX, AX")
    w("\tDECQ AX")
    w(f"\tKMOVW AX, {k1}")
    if k2:
        w("\tSHRQ $16, AX")
        w(f"\tKMOVW AX, {k2}")


def mask256(reg_cols, r1, r2):
    """r1, r2 = addresses of the avx2Mask masks of the first reg_cols
    (0..16) lanes of two ymm; clobbers AX, CX."""
    w(f"\tMOVQ {reg_cols}, CX")
    w("\tMOVQ $8, AX")
    w("\tCMPQ CX, AX")
    w("\tCMOVQLT CX, AX")
    w("\tSUBQ AX, CX")
    w(f"\tLEAQ ·avx2Mask+32(SB), {r1}")
    w("\tSHLQ $2, AX")
    w(f"\tSUBQ AX, {r1}")
    w(f"\tLEAQ ·avx2Mask+32(SB), {r2}")
    w("\tSHLQ $2, CX")
    w(f"\tSUBQ CX, {r2}")


def pack_loop(name, body, step_src, step_dst, unroll=4):
    """Runs body() R11 times (unrolled), advancing SI and DI."""
    w("\tMOVQ R11, R12")
    w(f"\tSHRQ ${unroll.bit_length()-1}, R12")
    w(f"\tJZ tail{name}")
    w(f"loop{name}:")
    for u in range(unroll):
        body()
        w(f"\tADDQ {step_src}, SI")
        w(f"\tADDQ {step_dst}, DI")
    w("\tDECQ R12")
    w(f"\tJNZ loop{name}")
    w(f"tail{name}:")
    w(f"\tANDQ ${unroll-1}, R11")
    w(f"\tJZ done{name}")
    w(f"tailloop{name}:")
    body()
    w(f"\tADDQ {step_src}, SI")
    w(f"\tADDQ {step_dst}, DI")
    w("\tDECQ R11")
    w(f"\tJNZ tailloop{name}")
    w(f"done{name}:")
    w("\tVZEROUPPER")
    w("\tRET")
    w("")


def copy_packer(name, isa, width):
    """copies: dst[p*dstride+j] = src[p*ld+j] for p < k, j < cols <= width;
    other floats of dst are left alone."""
    w(f"// func {name}(k int, src *float32, ld int, dst *float32, dstride, cols int)")
    w(f"TEXT ·{name}(SB), NOSPLIT, $0-48")
    w("\tMOVQ k+0(FP), R11")
    w("\tMOVQ src+8(FP), SI")
    w("\tMOVQ ld+16(FP), R8")
    w("\tMOVQ dst+24(FP), DI")
    w("\tMOVQ dstride+32(FP), R13")
    w("\tSHLQ $2, R8")
    w("\tSHLQ $2, R13")
    if isa == "avx512":
        mask512("cols+40(FP)")
        def body():
            w("\tVMOVUPS.Z (SI), K1, Z0")
            w("\tVMOVUPS.Z 64(SI), K2, Z1")
            w("\tVMOVUPS Z0, K1, (DI)")
            w("\tVMOVUPS Z1, K2, 64(DI)")
    else:
        mask256("cols+40(FP)", "R9", "R10")
        w("\tVMOVDQU (R9), Y2")
        w("\tVMOVDQU (R10), Y3")
        def body():
            w("\tVMASKMOVPS (SI), Y2, Y0")
            w("\tVMASKMOVPS 32(SI), Y3, Y1")
            w("\tVMASKMOVPS Y0, Y2, (DI)")
            w("\tVMASKMOVPS Y1, Y3, 32(DI)")
    pack_loop(name, body, "R8", "R13")


def transpose8():
    """transpose8(k8 int, src *float32, ld int, rows int, dst *float32, dstride int):
    for p < 8*k8 and i < 8: dst[p*dstride + i] = src[min(i, rows-1)*ld + p]."""
    name = "transpose8"
    w(f"// func {name}(k8 int, src *float32, ld int, rows int, dst *float32, dstride int)")
    w("// writes the transpose of 8 rows (ld floats apart; rows from rows on repeat")
    w("// the last one) by 8·k8 columns, dstride floats between rows of dst.")
    w(f"TEXT ·{name}(SB), NOSPLIT, $0-48")
    w("\tMOVQ k8+0(FP), CX")
    w("\tMOVQ src+8(FP), SI")
    w("\tMOVQ ld+16(FP), R8")
    w("\tSHLQ $2, R8")
    w("\tMOVQ rows+24(FP), DX")
    w("\tDECQ DX")  # last valid row
    w("\tMOVQ dst+32(FP), DI")
    w("\tMOVQ dstride+40(FP), R9")
    w("\tSHLQ $2, R9")
    # row bases: row i at SI + min(i, DX)*ld, in R10 R11 R12 R13 BX AX R8? -> use
    # base registers for rows 0..7; R8 holds ld only while computing them.
    bases = ["SI", "R10", "R11", "R12", "R13", "BX", "AX", "DX"]
    # compute bases 1..7 from SI: base_i = SI + min(i, last)*ld
    # DX is both 'last' and the last base: compute it last.
    w("\tMOVQ DX, R14")  # R14 = last (R14 is free in ABI0 assembly)
    for i in range(1, 8):
        b = bases[i]
        w(f"\tMOVQ ${i}, {b}")
        w(f"\tCMPQ R14, {b}")
        w(f"\tCMOVQLT R14, {b}")
        w(f"\tIMULQ R8, {b}")
        w(f"\tADDQ SI, {b}")
    w("\tXORQ R8, R8")  # R8 = column offset in bytes
    w("\tLEAQ (R9)(R9*2), R14")  # 3*dstride bytes
    w(f"loop{name}:")
    # Y_i (i<4) = row i cols 0-3 | row i+4 cols 0-3; Y_{4+i} = same, cols 4-7
    for i in range(4):
        lo, hi = bases[i], bases[i + 4]
        w(f"\tVMOVUPS ({lo})(R8*1), X{i}")
        w(f"\tVINSERTF128 $1, ({hi})(R8*1), Y{i}, Y{i}")
        w(f"\tVMOVUPS 16({lo})(R8*1), X{4+i}")
        w(f"\tVINSERTF128 $1, 16({hi})(R8*1), Y{4+i}, Y{4+i}")
    for g in range(2):
        a, b, c, d = (f"Y{4*g+i}" for i in range(4))
        w(f"\tVUNPCKLPS {b}, {a}, Y8")
        w(f"\tVUNPCKHPS {b}, {a}, Y9")
        w(f"\tVUNPCKLPS {d}, {c}, Y10")
        w(f"\tVUNPCKHPS {d}, {c}, Y11")
        w("\tVUNPCKLPD Y10, Y8, Y12")
        w("\tVUNPCKHPD Y10, Y8, Y13")
        w("\tVUNPCKLPD Y11, Y9, Y14")
        w("\tVUNPCKHPD Y11, Y9, Y15")
        # column 4g+q goes to dst + (4g+q)*dstride
        w("\tVMOVUPS Y12, (DI)")
        w("\tVMOVUPS Y13, (DI)(R9*1)")
        w("\tVMOVUPS Y14, (DI)(R9*2)")
        w("\tVMOVUPS Y15, (DI)(R14*1)")
        w("\tLEAQ (DI)(R9*4), DI")
    w("\tADDQ $32, R8")
    w("\tDECQ CX")
    w(f"\tJNZ loop{name}")
    w("\tVZEROUPPER")
    w("\tRET")
    w("")


w("//go:build !purego")
w("")
w("// Code generated by kernel_gen.py; DO NOT EDIT.")
w("")
w('#include "textflag.h"')
w("")
w("// avx2Mask: 8 lanes of -1, then 8 of 0 (column masks for VMASKMOVPS).")
for i in range(16):
    w(f"DATA ·avx2Mask+{4*i}(SB)/4, ${-1 if i < 8 else 0}")
w("GLOBL ·avx2Mask(SB), RODATA|NOPTR, $64")
w("")
copy_packer("avx512Copy32", "avx512", 32)
copy_packer("avx2Copy16", "avx2", 16)
transpose8()
for r in range(1, 15):
    avx512(r)
for r in range(1, 15):
    avx512row(r)
for r in range(1, 15):
    avx512col(r)
for r in range(1, 7):
    avx2(r)
open("kernel_amd64.s", "w").write("\n".join(L))

TILE = "(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)"
G = [
    "//go:build !purego",
    "",
    "// Code generated by kernel_gen.py; DO NOT EDIT.",
    "",
    "package gemm",
    "",
    "// avx512Tiles[r] computes an r-row tile 32 columns wide (AVX-512F).",
    "var avx512Tiles = []tileFunc{nil, " + ", ".join(f"avx512Tile{r}" for r in range(1, 15)) + "}",
    "",
    "// avx512RowTiles[r] computes an r-row tile 32 columns wide from A in place (AVX-512F).",
    "var avx512RowTiles = []rowTileFunc{nil, " + ", ".join(f"avx512RowTile{r}" for r in range(1, 15)) + "}",
    "",
    "// avx512ColTiles[r] computes an r-row tile 32 columns wide from a transposed A in place (AVX-512F).",
    "var avx512ColTiles = []rowTileFunc{nil, " + ", ".join(f"avx512ColTile{r}" for r in range(1, 15)) + "}",
    "",
    "// avx2Tiles[r] computes an r-row tile 16 columns wide (AVX2 and FMA).",
    "var avx2Tiles = []tileFunc{nil, " + ", ".join(f"avx2Tile{r}" for r in range(1, 7)) + "}",
    "",
    "// avx512Copy32 implements kernel.copyRows for rows of up to 32 floats (AVX-512F).",
    "//",
    "//go:noescape",
    "func avx512Copy32(k int, src *float32, ld int, dst *float32, dstride, cols int)",
    "",
    "// avx2Copy16 implements kernel.copyRows for rows of up to 16 floats (AVX2).",
    "//",
    "//go:noescape",
    "func avx2Copy16(k int, src *float32, ld int, dst *float32, dstride, cols int)",
    "",
    "// transpose8 implements kernel.tr8 (AVX).",
    "//",
    "//go:noescape",
    "func transpose8(k8 int, src *float32, ld, rows int, dst *float32, dstride int)",
]
for fam, n, w_ in (("avx512", 14, 32), ("avx2", 6, 16)):
    for r in range(1, n + 1):
        G += ["", f"// {fam}Tile{r} implements tileFunc for {r}-row tiles {w_} columns wide.", "//",
              "//go:noescape", f"func {fam}Tile{r}{TILE}"]
for r in range(1, 15):
    G += ["", f"// avx512RowTile{r} implements rowTileFunc for {r}-row tiles 32 columns wide.", "//",
          "//go:noescape", f"func avx512RowTile{r}{ROWTILE}"]
for r in range(1, 15):
    G += ["", f"// avx512ColTile{r} implements rowTileFunc for {r}-row tiles 32 columns wide, A transposed.", "//",
          "//go:noescape", f"func avx512ColTile{r}{ROWTILE}"]
open("kernel_decl_amd64.go", "w").write("\n".join(G) + "\n")
