#!/usr/bin/python3
"""Writes kernel_amd64.s: the micro-kernels of package gemm.

avx512Tile{r} (r = 1..14, AVX-512F) and avx2Tile{r} (r = 1..6, AVX2+FMA) each
compute one r x NR tile of C (NR = 32 and 16):

    acc[i][j] = sum over p < k of A[p*r + i] * B[p*NR + j]    (FMA, p in order)
    C[i*ldc + j] = alpha*acc[i][j] + beta*C[i*ldc + j]         if load != 0
    C[i*ldc + j] = alpha*acc[i][j]                             if load == 0

for i < r and j < cols (cols <= NR; the other columns of C are neither read
nor written). A is a packed row panel (k-major, r floats per p), B a packed
column panel (k-major, NR floats per p). The second line is one FMA.
Go declaration (kernel_amd64.go):

    func(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

Run: /usr/bin/python3 kernel_gen.py
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


def loop(name, r, vec, nr, breg, bcast, zero):
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
        w(f"\tVBROADCASTSS {4*i}(SI), {b}")
        w(f"\tVFMADD231PS {vec}{breg}, {b}, {vec}{2*i}")
        w(f"\tVFMADD231PS {vec}{breg+1}, {b}, {vec}{2*i+1}")
    w(f"\tADDQ ${4*r}, SI")
    w(f"\tADDQ ${4*nr}, DI")
    w("\tDECQ CX")
    w(f"\tJNZ loop{name}")
    w(f"epi{name}:")


def avx512(r):
    name = f"avx512Tile{r}"
    header(name)
    loop(name, r, "Z", 32, 28, [30, 31], "VPXORD")
    # column masks: K1 for columns 0..15, K2 for 16..31
    w("\tMOVQ cols+48(FP), CX")
    w("\tMOVQ $1, AX")
    w("\tSHLQ CX, AX")
    w("\tDECQ AX")
    w("\tKMOVW AX, K1")
    w("\tSHRQ $16, AX")
    w("\tKMOVW AX, K2")
    w("\tVBROADCASTSS alpha+40(FP), Z28")
    w("\tVBROADCASTSS beta+44(FP), Z29")
    for i in range(2 * r):
        w(f"\tVMULPS Z28, Z{i}, Z{i}")
    w("\tMOVQ DX, R9")
    w("\tMOVQ load+56(FP), AX")
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
    loop(name, r, "Y", 16, 12, [14, 15], "VXORPS")
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


def pack_header(name, ld, last):
    w(f"// func {name}(k int, src *float32, {ld} int, dst *float32, {last} int)")
    w(f"TEXT ·{name}(SB), NOSPLIT, $0-40")
    w("\tMOVQ k+0(FP), R11")
    w("\tMOVQ src+8(FP), SI")
    w(f"\tMOVQ {ld}+16(FP), R8")
    w("\tMOVQ dst+24(FP), DI")


def pack_loop(name, body, step_src, step_dst, unroll=4):
    """Runs body(u) k times, unrolled; body(u) handles the u-th row of an
    unrolled group with SI, DI at the group's start."""
    w("\tMOVQ R11, R12")
    w(f"\tSHRQ ${unroll.bit_length()-1}, R12")
    w(f"\tJZ tail{name}")
    w(f"loop{name}:")
    for u in range(unroll):
        body(u)
        w(f"\tADDQ {step_src}, SI")
        w(f"\tADDQ {step_dst}, DI")
    w("\tDECQ R12")
    w(f"\tJNZ loop{name}")
    w(f"tail{name}:")
    w(f"\tANDQ ${unroll-1}, R11")
    w(f"\tJZ done{name}")
    w(f"tailloop{name}:")
    body(0)
    w(f"\tADDQ {step_src}, SI")
    w(f"\tADDQ {step_dst}, DI")
    w("\tDECQ R11")
    w(f"\tJNZ tailloop{name}")
    w(f"done{name}:")
    w("\tVZEROUPPER")
    w("\tRET")
    w("")


def packers512():
    # B, not transposed: dst[p*32+j] = src[p*ldb+j], j < cols, zero beyond.
    name = "avx512PackBN"
    pack_header(name, "ldb", "cols")
    w("\tSHLQ $2, R8")
    mask512("cols+32(FP)")
    def body(u):
        w("\tVMOVUPS.Z (SI), K1, Z0")
        w("\tVMOVUPS.Z 64(SI), K2, Z1")
        w("\tVMOVUPS Z0, (DI)")
        w("\tVMOVUPS Z1, 64(DI)")
    pack_loop(name, body, "R8", "$128")

    # B transposed: dst[p*32+j] = src[j*ldb+p], j < cols, zero beyond.
    name = "avx512PackBT"
    pack_header(name, "ldb", "cols")
    mask512("cols+32(FP)")
    w("\tVPBROADCASTD R8, Z4")
    w("\tVMOVDQU32 ·iota32(SB), Z2")
    w("\tVPMULLD Z4, Z2, Z2")  # Z2 = j*ldb, j < 16
    w("\tSHLQ $4, R8")
    w("\tVPBROADCASTD R8, Z4")
    w("\tVPADDD Z4, Z2, Z3")  # Z3 = (16+j)*ldb
    def body(u):
        w("\tKMOVW K1, K3")
        w("\tKMOVW K2, K4")
        w("\tVPXORD Z0, Z0, Z0")
        w("\tVPXORD Z1, Z1, Z1")
        w("\tVGATHERDPS (SI)(Z2*4), K3, Z0")
        w("\tVGATHERDPS (SI)(Z3*4), K4, Z1")
        w("\tVMOVUPS Z0, (DI)")
        w("\tVMOVUPS Z1, 64(DI)")
    pack_loop(name, body, "$4", "$128")

    # A, not transposed, one tile of r <= 16 rows: dst[p*r+i] = src[i*lda+p].
    name = "avx512PackAN"
    pack_header(name, "lda", "r")
    mask512("r+32(FP)", k2=None)
    w("\tSHLQ $2, CX")
    w("\tMOVQ CX, R9")  # 4r
    w("\tVPBROADCASTD R8, Z4")
    w("\tVMOVDQU32 ·iota32(SB), Z2")
    w("\tVPMULLD Z4, Z2, Z2")
    def body(u):
        w("\tKMOVW K1, K3")
        w("\tVPXORD Z0, Z0, Z0")
        w("\tVGATHERDPS (SI)(Z2*4), K3, Z0")
        w("\tVMOVUPS Z0, K1, (DI)")
    pack_loop(name, body, "$4", "R9")

    # A transposed, one tile of r <= 16 rows: dst[p*r+i] = src[p*lda+i].
    name = "avx512PackAT"
    pack_header(name, "lda", "r")
    w("\tSHLQ $2, R8")
    mask512("r+32(FP)", k2=None)
    w("\tSHLQ $2, CX")
    w("\tMOVQ CX, R9")
    def body(u):
        w("\tVMOVUPS.Z (SI), K1, Z0")
        w("\tVMOVUPS Z0, K1, (DI)")
    pack_loop(name, body, "R8", "R9")


def packers256():
    # B, not transposed, 16 wide.
    name = "avx2PackBN"
    pack_header(name, "ldb", "cols")
    w("\tSHLQ $2, R8")
    mask256("cols+32(FP)", "R9", "R10")
    w("\tVMOVDQU (R9), Y2")
    w("\tVMOVDQU (R10), Y3")
    def body(u):
        w("\tVMASKMOVPS (SI), Y2, Y0")
        w("\tVMASKMOVPS 32(SI), Y3, Y1")
        w("\tVMOVUPS Y0, (DI)")
        w("\tVMOVUPS Y1, 32(DI)")
    pack_loop(name, body, "R8", "$64")

    # B transposed, 16 wide.
    name = "avx2PackBT"
    pack_header(name, "ldb", "cols")
    mask256("cols+32(FP)", "R9", "R10")
    w("\tVMOVDQU (R9), Y6")
    w("\tVMOVDQU (R10), Y7")
    w("\tMOVQ R8, X4")
    w("\tVPBROADCASTD X4, Y4")
    w("\tVMOVDQU ·iota32(SB), Y2")
    w("\tVPMULLD Y4, Y2, Y2")
    w("\tSHLQ $3, R8")
    w("\tMOVQ R8, X4")
    w("\tVPBROADCASTD X4, Y4")
    w("\tVPADDD Y4, Y2, Y3")
    def body(u):
        w("\tVMOVDQU Y6, Y8")
        w("\tVMOVDQU Y7, Y9")
        w("\tVXORPS Y0, Y0, Y0")
        w("\tVXORPS Y1, Y1, Y1")
        w("\tVGATHERDPS Y8, (SI)(Y2*4), Y0")
        w("\tVGATHERDPS Y9, (SI)(Y3*4), Y1")
        w("\tVMOVUPS Y0, (DI)")
        w("\tVMOVUPS Y1, 32(DI)")
    pack_loop(name, body, "$4", "$64")

    # A, not transposed, one tile of r <= 8 rows.
    name = "avx2PackAN"
    pack_header(name, "lda", "r")
    mask256("r+32(FP)", "R9", "R10")
    w("\tVMOVDQU (R9), Y6")
    w("\tMOVQ r+32(FP), R9")
    w("\tSHLQ $2, R9")
    w("\tMOVQ R8, X4")
    w("\tVPBROADCASTD X4, Y4")
    w("\tVMOVDQU ·iota32(SB), Y2")
    w("\tVPMULLD Y4, Y2, Y2")
    def body(u):
        w("\tVMOVDQU Y6, Y8")
        w("\tVXORPS Y0, Y0, Y0")
        w("\tVGATHERDPS Y8, (SI)(Y2*4), Y0")
        w("\tVMASKMOVPS Y0, Y6, (DI)")
    pack_loop(name, body, "$4", "R9")

    # A transposed, one tile of r <= 8 rows.
    name = "avx2PackAT"
    pack_header(name, "lda", "r")
    w("\tSHLQ $2, R8")
    mask256("r+32(FP)", "R9", "R10")
    w("\tVMOVDQU (R9), Y6")
    w("\tMOVQ r+32(FP), R9")
    w("\tSHLQ $2, R9")
    def body(u):
        w("\tVMASKMOVPS (SI), Y6, Y0")
        w("\tVMASKMOVPS Y0, Y6, (DI)")
    pack_loop(name, body, "R8", "R9")


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
w("// iota32: 0, 1, ..., 15 (int32), gather offsets.")
for i in range(16):
    w(f"DATA ·iota32+{4*i}(SB)/4, ${i}")
w("GLOBL ·iota32(SB), RODATA|NOPTR, $64")
w("")
packers512()
packers256()
for r in range(1, 15):
    avx512(r)
for r in range(1, 7):
    avx2(r)
open("kernel_amd64.s", "w").write("\n".join(L))
