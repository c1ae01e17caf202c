//go:build !purego

#include "textflag.h"
#include "kernels_amd64.h"

// The loop steps shared by im2col3DirectAVX512 and im2col3PairsAVX512, which
// go by ky (R13 = ky−1, from −1 to 1), then image (SI, BX counting down),
// then output row; DI is the ky's first cols row, R8 = ld bytes, R10 = w·4,
// R11 = ho, R12 = wo·64.
//
// ROWSTART starts the ky's three cols rows (kx = 0, 1, 2; DI is the
// first, R8 = ld bytes, a multiple of 64, so the three share an alignment):
// R14 = the 64-byte line the rows' first element is in, R15 = its lane f
// times 64, K5 = the lanes from f on (the first store must not write
// before the rows), and the images start over. DX is the kernel's table
// (see APPEND3).
#define ROWSTART \
	MOVQ DI, R14; \
	MOVQ DI, R15; \
	ANDQ $63, R15; \
	SHLQ $4, R15; \
	ANDQ $-64, R14; \
	KMOVW 3072(DX)(R15*1), K5; \
	MOVQ x+16(FP), SI; \
	MOVQ n+56(FP), BX

// PERM3 permutes the 32 lanes Z1:hi into Z4, Z5 and Z6 (kx = 0, 1, 2),
// each rotated by f lanes (R15 = f·64) so that its first output lands at
// lane f; K6 = the lanes from f on.
#define PERM3(hi) \
	VMOVDQU32 (DX)(R15*1), Z4; \
	VPERMI2PS hi, Z1, Z4; \
	VMOVDQU32 1024(DX)(R15*1), Z5; \
	VPERMI2PS hi, Z1, Z5; \
	VMOVDQU32 2048(DX)(R15*1), Z6; \
	VPERMI2PS hi, Z1, Z6; \
	KMOVW 3072(DX)(R15*1), K6

// APPEND3 appends the outputs PERM3 placed from lane f into the three rows'
// pending lines Z7, Z8, Z9 (whose lanes below f are pending), once the
// caller has added their count times 64 to R15. When that fills a line,
// the three lines are stored whole (under K5, which is then set to all
// lanes), R14 moves a line on, R15 drops by 16 lanes, and the outputs
// that did not fit, rotated to lanes below the new f, are what is pending.
// So every store is a 64-byte-aligned line (a store that straddles two
// lines costs several times as much). kept is a label unique to the call.
#define APPEND3(kept) \
	VMOVAPS Z4, K6, Z7; \
	VMOVAPS Z5, K6, Z8; \
	VMOVAPS Z6, K6, Z9; \
	CMPQ R15, $1024; \
	JLT kept; \
	VMOVUPS Z7, K5, (R14); \
	VMOVUPS Z8, K5, (R14)(R8*1); \
	VMOVUPS Z9, K5, (R14)(R8*2); \
	KXNORW K5, K5, K5; \
	ADDQ $64, R14; \
	SUBQ $1024, R15; \
	VMOVAPS Z4, Z7; \
	VMOVAPS Z5, Z8; \
	VMOVAPS Z6, Z9; \
kept:

// ROWEND stores the lanes below f of the pending lines (and not before the
// rows, K5).
#define ROWEND \
	KMOVW 3072(DX)(R15*1), K6; \
	KANDNW K5, K6, K7; \
	VMOVUPS Z7, K7, (R14); \
	VMOVUPS Z8, K7, (R14)(R8*1); \
	VMOVUPS Z9, K7, (R14)(R8*2)

// IMGSTART sets CX = iy = ky−1 (the first input row), AX to the element
// before row iy of the image at SI (lane 0 of its window, the padding) and
// R9 = ho.
#define IMGSTART \
	MOVQ R13, CX; \
	MOVQ R13, AX; \
	IMULQ R10, AX; \
	LEAQ -4(SI)(AX*1), AX; \
	MOVQ R11, R9

// IMGNEXT moves SI to the next image and counts BX down (flags set for JNZ).
#define IMGNEXT \
	MOVQ h+24(FP), AX; \
	IMULQ R10, AX; \
	ADDQ AX, SI; \
	DECQ BX

// KYNEXT moves DI three cols rows on and R13 to the next ky (flags set for
// JLT, which loops while ky <= 2).
#define KYNEXT \
	LEAQ (DI)(R8*2), DI; \
	ADDQ R8, DI; \
	INCQ R13; \
	CMPQ R13, $2

// Lane i of a gather takes element 2i of the 31-element window.
DATA even<>+0(SB)/4, $0
DATA even<>+4(SB)/4, $2
DATA even<>+8(SB)/4, $4
DATA even<>+12(SB)/4, $6
DATA even<>+16(SB)/4, $8
DATA even<>+20(SB)/4, $10
DATA even<>+24(SB)/4, $12
DATA even<>+28(SB)/4, $14
DATA even<>+32(SB)/4, $16
DATA even<>+36(SB)/4, $18
DATA even<>+40(SB)/4, $20
DATA even<>+44(SB)/4, $22
DATA even<>+48(SB)/4, $24
DATA even<>+52(SB)/4, $26
DATA even<>+56(SB)/4, $28
DATA even<>+60(SB)/4, $30
GLOBL even<>(SB), RODATA|NOPTR, $64

// Lane 2j of a spread takes element j (low half) or 8+j (high half); odd
// lanes are masked off.
DATA spreadLo<>+0(SB)/4, $0
DATA spreadLo<>+4(SB)/4, $0
DATA spreadLo<>+8(SB)/4, $1
DATA spreadLo<>+12(SB)/4, $1
DATA spreadLo<>+16(SB)/4, $2
DATA spreadLo<>+20(SB)/4, $2
DATA spreadLo<>+24(SB)/4, $3
DATA spreadLo<>+28(SB)/4, $3
DATA spreadLo<>+32(SB)/4, $4
DATA spreadLo<>+36(SB)/4, $4
DATA spreadLo<>+40(SB)/4, $5
DATA spreadLo<>+44(SB)/4, $5
DATA spreadLo<>+48(SB)/4, $6
DATA spreadLo<>+52(SB)/4, $6
DATA spreadLo<>+56(SB)/4, $7
DATA spreadLo<>+60(SB)/4, $7
GLOBL spreadLo<>(SB), RODATA|NOPTR, $64

DATA spreadHi<>+0(SB)/4, $8
DATA spreadHi<>+4(SB)/4, $8
DATA spreadHi<>+8(SB)/4, $9
DATA spreadHi<>+12(SB)/4, $9
DATA spreadHi<>+16(SB)/4, $10
DATA spreadHi<>+20(SB)/4, $10
DATA spreadHi<>+24(SB)/4, $11
DATA spreadHi<>+28(SB)/4, $11
DATA spreadHi<>+32(SB)/4, $12
DATA spreadHi<>+36(SB)/4, $12
DATA spreadHi<>+40(SB)/4, $13
DATA spreadHi<>+44(SB)/4, $13
DATA spreadHi<>+48(SB)/4, $14
DATA spreadHi<>+52(SB)/4, $14
DATA spreadHi<>+56(SB)/4, $15
DATA spreadHi<>+60(SB)/4, $15
GLOBL spreadHi<>(SB), RODATA|NOPTR, $64

// func gather2AVX512(dst, src *float32, rows, wo, sstride int)
TEXT ·gather2AVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), BX
	MOVQ wo+24(FP), CX
	MOVQ sstride+32(FP), R8
	SHLQ $2, R8
	MOVQ CX, DX
	SHLQ $2, DX
	// K3: the wo lanes stored; K1, K2: the 2wo-1 elements of the window.
	ONES(AX)
	KMOVW AX, K3
	LEAQ -1(CX)(CX*1), CX
	ONES(AX)
	KMOVW AX, K1
	SHRQ $16, AX
	KMOVW AX, K2
	VMOVDQU32 even<>(SB), Z2
	TESTQ BX, BX
	JZ gdone

gloop:
	VMOVUPS.Z (SI), K1, Z1
	VMOVUPS.Z 64(SI), K2, Z3
	VPERMT2PS Z3, Z2, Z1
	VMOVUPS Z1, K3, (DI)
	ADDQ R8, SI
	ADDQ DX, DI
	DECQ BX
	JNZ gloop

gdone:
	VZEROUPPER
	RET

// func scatter2AVX512(dst, src *float32, rows, wo, dstride int)
TEXT ·scatter2AVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), BX
	MOVQ wo+24(FP), CX
	MOVQ dstride+32(FP), R8
	SHLQ $2, R8
	MOVQ CX, DX
	SHLQ $2, DX
	// K3: the wo source lanes; K1, K2: the even lanes of the window.
	ONES(AX)
	KMOVW AX, K3
	LEAQ -1(CX)(CX*1), CX
	ONES(AX)
	MOVQ $0x55555555, R9
	ANDQ R9, AX
	KMOVW AX, K1
	SHRQ $16, AX
	KMOVW AX, K2
	VMOVDQU32 spreadLo<>(SB), Z5
	VMOVDQU32 spreadHi<>(SB), Z7
	TESTQ BX, BX
	JZ sdone

sloop:
	VMOVUPS.Z (SI), K3, Z4
	VPERMPS Z4, Z5, Z6
	VPERMPS Z4, Z7, Z8
	VMOVUPS.Z (DI), K1, Z9
	VADDPS Z6, Z9, Z9
	VMOVUPS Z9, K1, (DI)
	VMOVUPS.Z 64(DI), K2, Z10
	VADDPS Z8, Z10, Z10
	VMOVUPS Z10, K2, 64(DI)
	ADDQ DX, SI
	ADDQ R8, DI
	DECQ BX
	JNZ sloop

sdone:
	VZEROUPPER
	RET

// Index vectors of the 3x3 plane kernels: odd and even2 gather lanes
// 2j+1 and 2j+2 (kx = 1, 2); spreadLo2/spreadHi2 send v[j] to lane 2j+2
// (kx = 2) of the low and high half of a 32-lane row.
DATA odd<>+0(SB)/4, $1
DATA odd<>+4(SB)/4, $3
DATA odd<>+8(SB)/4, $5
DATA odd<>+12(SB)/4, $7
DATA odd<>+16(SB)/4, $9
DATA odd<>+20(SB)/4, $11
DATA odd<>+24(SB)/4, $13
DATA odd<>+28(SB)/4, $15
DATA odd<>+32(SB)/4, $17
DATA odd<>+36(SB)/4, $19
DATA odd<>+40(SB)/4, $21
DATA odd<>+44(SB)/4, $23
DATA odd<>+48(SB)/4, $25
DATA odd<>+52(SB)/4, $27
DATA odd<>+56(SB)/4, $29
DATA odd<>+60(SB)/4, $31
GLOBL odd<>(SB), RODATA|NOPTR, $64

DATA even2<>+0(SB)/4, $2
DATA even2<>+4(SB)/4, $4
DATA even2<>+8(SB)/4, $6
DATA even2<>+12(SB)/4, $8
DATA even2<>+16(SB)/4, $10
DATA even2<>+20(SB)/4, $12
DATA even2<>+24(SB)/4, $14
DATA even2<>+28(SB)/4, $16
DATA even2<>+32(SB)/4, $18
DATA even2<>+36(SB)/4, $20
DATA even2<>+40(SB)/4, $22
DATA even2<>+44(SB)/4, $24
DATA even2<>+48(SB)/4, $26
DATA even2<>+52(SB)/4, $28
DATA even2<>+56(SB)/4, $30
DATA even2<>+60(SB)/4, $0
GLOBL even2<>(SB), RODATA|NOPTR, $64

DATA spreadLo2<>+0(SB)/4, $0
DATA spreadLo2<>+4(SB)/4, $0
DATA spreadLo2<>+8(SB)/4, $0
DATA spreadLo2<>+12(SB)/4, $0
DATA spreadLo2<>+16(SB)/4, $1
DATA spreadLo2<>+20(SB)/4, $1
DATA spreadLo2<>+24(SB)/4, $2
DATA spreadLo2<>+28(SB)/4, $2
DATA spreadLo2<>+32(SB)/4, $3
DATA spreadLo2<>+36(SB)/4, $3
DATA spreadLo2<>+40(SB)/4, $4
DATA spreadLo2<>+44(SB)/4, $4
DATA spreadLo2<>+48(SB)/4, $5
DATA spreadLo2<>+52(SB)/4, $5
DATA spreadLo2<>+56(SB)/4, $6
DATA spreadLo2<>+60(SB)/4, $6
GLOBL spreadLo2<>(SB), RODATA|NOPTR, $64

DATA spreadHi2<>+0(SB)/4, $7
DATA spreadHi2<>+4(SB)/4, $7
DATA spreadHi2<>+8(SB)/4, $8
DATA spreadHi2<>+12(SB)/4, $8
DATA spreadHi2<>+16(SB)/4, $9
DATA spreadHi2<>+20(SB)/4, $9
DATA spreadHi2<>+24(SB)/4, $10
DATA spreadHi2<>+28(SB)/4, $10
DATA spreadHi2<>+32(SB)/4, $11
DATA spreadHi2<>+36(SB)/4, $11
DATA spreadHi2<>+40(SB)/4, $12
DATA spreadHi2<>+44(SB)/4, $12
DATA spreadHi2<>+48(SB)/4, $13
DATA spreadHi2<>+52(SB)/4, $13
DATA spreadHi2<>+56(SB)/4, $14
DATA spreadHi2<>+60(SB)/4, $14
GLOBL spreadHi2<>(SB), RODATA|NOPTR, $64

// PERMSTORE3 gathers the three kx rows of a 3-wide stride-2 window from the
// 32 lanes Z1:hi with the index tables Z20, Z21, Z22 (kx = 0, 1, 2) and
// stores each under mask k at (R14), (R15) and (DX). It clobbers Z4-Z6.
#define PERMSTORE3(hi, k) \
	VMOVAPS Z20, Z4; \
	VPERMI2PS hi, Z1, Z4; \
	VMOVUPS Z4, k, (R14); \
	VMOVAPS Z21, Z5; \
	VPERMI2PS hi, Z1, Z5; \
	VMOVUPS Z5, k, (R15); \
	VMOVAPS Z22, Z6; \
	VPERMI2PS hi, Z1, Z6; \
	VMOVUPS Z6, k, (DX)

// func im2col3AVX512(cols *float32, np int, plane *float32, pw, ho, wo int)
// cols[(ky·3+kx)·np + oy·wo + j] = plane[(2oy+ky)·pw + 2j+kx], wo <= 15.
TEXT ·im2col3AVX512(SB), NOSPLIT, $0-48
	MOVQ cols+0(FP), DI
	MOVQ np+8(FP), R8
	MOVQ plane+16(FP), SI
	MOVQ pw+24(FP), R9
	MOVQ ho+32(FP), R10
	MOVQ wo+40(FP), CX
	SHLQ $2, R8
	SHLQ $2, R9
	MOVQ CX, R11
	SHLQ $2, R11
	WINDOW3
	VMOVDQU32 even<>(SB), Z20
	VMOVDQU32 odd<>(SB), Z21
	VMOVDQU32 even2<>(SB), Z22
	MOVQ $3, R12

ikyloop:
	MOVQ SI, R13
	MOVQ DI, R14
	LEAQ (R14)(R8*1), R15
	LEAQ (R15)(R8*1), DX
	MOVQ R10, BX
	TESTQ BX, BX
	JZ ikynext

ioyloop:
	VMOVUPS.Z (R13), K1, Z1
	VMOVUPS.Z 64(R13), K2, Z3
	PERMSTORE3(Z3, K3)
	LEAQ (R13)(R9*2), R13
	ADDQ R11, R14
	ADDQ R11, R15
	ADDQ R11, DX
	DECQ BX
	JNZ ioyloop

ikynext:
	ADDQ R9, SI
	LEAQ (DI)(R8*2), DI
	ADDQ R8, DI
	DECQ R12
	JNZ ikyloop
	VZEROUPPER
	RET

// func col2im3AVX512(plane *float32, pw int, cols *float32, np, ho, wo int)
// plane[(2oy+ky)·pw + 2j+kx] += cols[(ky·3+kx)·np + oy·wo + j], wo <= 15,
// in the order ky, oy, kx.
TEXT ·col2im3AVX512(SB), NOSPLIT, $0-48
	MOVQ plane+0(FP), SI
	MOVQ pw+8(FP), R9
	MOVQ cols+16(FP), DI
	MOVQ np+24(FP), R8
	MOVQ ho+32(FP), R10
	MOVQ wo+40(FP), CX
	SHLQ $2, R8
	SHLQ $2, R9
	MOVQ CX, R11
	SHLQ $2, R11
	WINDOW3
	MOVQ $0x5555, AX
	KMOVW AX, K4
	MOVQ $0xaaaa, AX
	KMOVW AX, K5
	MOVQ $0x5554, AX
	KMOVW AX, K6
	VMOVDQU32 spreadLo<>(SB), Z20
	VMOVDQU32 spreadHi<>(SB), Z21
	VMOVDQU32 spreadLo2<>(SB), Z22
	VMOVDQU32 spreadHi2<>(SB), Z23
	MOVQ $3, R12

ckyloop:
	MOVQ SI, R13
	MOVQ DI, R14
	LEAQ (R14)(R8*1), R15
	LEAQ (R15)(R8*1), DX
	MOVQ R10, BX
	TESTQ BX, BX
	JZ ckynext

coyloop:
	VMOVUPS.Z (R13), K1, Z1
	VMOVUPS.Z 64(R13), K2, Z3
	VMOVUPS.Z (R14), K3, Z5
	VPERMPS.Z Z5, Z20, K4, Z6
	VPERMPS.Z Z5, Z21, K4, Z7
	VADDPS Z6, Z1, Z1
	VADDPS Z7, Z3, Z3
	VMOVUPS.Z (R15), K3, Z5
	VPERMPS.Z Z5, Z20, K5, Z6
	VPERMPS.Z Z5, Z21, K5, Z7
	VADDPS Z6, Z1, Z1
	VADDPS Z7, Z3, Z3
	VMOVUPS.Z (DX), K3, Z5
	VPERMPS.Z Z5, Z22, K6, Z6
	VPERMPS.Z Z5, Z23, K4, Z7
	VADDPS Z6, Z1, Z1
	VADDPS Z7, Z3, Z3
	VMOVUPS Z1, K1, (R13)
	VMOVUPS Z3, K2, 64(R13)
	LEAQ (R13)(R9*2), R13
	ADDQ R11, R14
	ADDQ R11, R15
	ADDQ R11, DX
	DECQ BX
	JNZ coyloop

ckynext:
	ADDQ R9, SI
	LEAQ (DI)(R8*2), DI
	ADDQ R8, DI
	DECQ R12
	JNZ ckyloop
	VZEROUPPER
	RET

// func copyRowsAVX512(dst *float32, dstride int, src *float32, sstride int, rows, w int)
// dst[r·dstride + j] = src[r·sstride + j] for r < rows, j < w <= 32.
TEXT ·copyRowsAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ dstride+8(FP), R8
	MOVQ src+16(FP), SI
	MOVQ sstride+24(FP), R9
	MOVQ rows+32(FP), BX
	MOVQ w+40(FP), CX
	SHLQ $2, R8
	SHLQ $2, R9
	ONES(AX)
	KMOVW AX, K1
	SHRQ $16, AX
	KMOVW AX, K2
	TESTQ BX, BX
	JZ cdone

cloop:
	VMOVUPS.Z (SI), K1, Z1
	VMOVUPS.Z 64(SI), K2, Z2
	VMOVUPS Z1, K1, (DI)
	VMOVUPS Z2, K2, 64(DI)
	ADDQ R9, SI
	ADDQ R8, DI
	DECQ BX
	JNZ cloop

cdone:
	VZEROUPPER
	RET

// IMAGEROW sets, for CX = wo and R10 = w: K3 to the wo lanes of an output
// row and R12 to its bytes; K1, K2 to lanes 1..w of a 32-lane window whose
// lane 0 stands for the padding column (low and high 16); R10 to w·4. It
// clobbers AX and CX.
#define IMAGEROW \
	ONES(AX); \
	KMOVW AX, K3; \
	MOVQ CX, R12; \
	SHLQ $2, R12; \
	MOVQ R10, CX; \
	INCQ CX; \
	ONES(AX); \
	ANDQ $-2, AX; \
	KMOVW AX, K1; \
	SHRQ $16, AX; \
	KMOVW AX, K2; \
	SHLQ $2, R10

// func im2col3DirectAVX512(cols *float32, ld int, x *float32, h, w, ho, wo, n int, tab *int32)
// For images i < n of x (h·w floats each), the nine patch-matrix rows of a
// 3×3 window at stride 2 and padding 1, read from the image itself:
// cols[(ky·3+kx)·ld + (i·ho+oy)·wo + j] = x[i][2oy−1+ky][2j−1+kx], 0 where
// that is outside the image; w <= 30, wo <= 15, ld a multiple of 16. A row
// of the image is loaded once, masked to its w elements (lane 0 and lanes
// past w are the padding, and are never read), permuted three times and
// appended to the three rows (APPEND3; tab is directTable).
TEXT ·im2col3DirectAVX512(SB), NOSPLIT, $0-72
	MOVQ cols+0(FP), DI
	MOVQ ld+8(FP), R8
	MOVQ w+32(FP), R10
	MOVQ ho+40(FP), R11
	MOVQ wo+48(FP), CX
	MOVQ tab+64(FP), DX
	SHLQ $2, R8
	IMAGEROW
	SHLQ $4, R12
	MOVQ n+56(FP), BX
	TESTQ BX, BX
	JZ ddone
	TESTQ R11, R11
	JZ ddone
	MOVQ $-1, R13

dky:
	ROWSTART

dimg:
	IMGSTART

doy:
	CMPQ CX, $0
	JLT dzero
	CMPQ CX, h+24(FP)
	JGE dzero
	VMOVUPS.Z (AX), K1, Z1
	VMOVUPS.Z 64(AX), K2, Z3
	JMP dperm

dzero:
	VPXORD Z1, Z1, Z1
	VPXORD Z3, Z3, Z3

dperm:
	PERM3(Z3)
	ADDQ R12, R15
	APPEND3(dkept)
	ADDQ $2, CX
	LEAQ (AX)(R10*2), AX
	DECQ R9
	JNZ doy

	IMGNEXT
	JNZ dimg

	ROWEND
	KYNEXT
	JLT dky

ddone:
	VZEROUPPER
	RET

// SPREAD3 adds the three kx rows at p, p+ld and p+2ld (R8 = ld bytes; wo
// lanes each, mask K3) into the 32-lane window Z1:Z3, at lanes 2j, 2j+1
// and 2j+2, in that order (col2im3AVX512's spreads).
#define SPREAD3(p) \
	VMOVUPS.Z (p), K3, Z5; \
	VPERMPS.Z Z5, Z20, K4, Z6; \
	VPERMPS.Z Z5, Z21, K4, Z7; \
	VADDPS Z6, Z1, Z1; \
	VADDPS Z7, Z3, Z3; \
	VMOVUPS.Z (p)(R8*1), K3, Z5; \
	VPERMPS.Z Z5, Z20, K5, Z6; \
	VPERMPS.Z Z5, Z21, K5, Z7; \
	VADDPS Z6, Z1, Z1; \
	VADDPS Z7, Z3, Z3; \
	VMOVUPS.Z (p)(R8*2), K3, Z5; \
	VPERMPS.Z Z5, Z22, K6, Z6; \
	VPERMPS.Z Z5, Z23, K4, Z7; \
	VADDPS Z6, Z1, Z1; \
	VADDPS Z7, Z3, Z3

// SPREAD3N is SPREAD3 into the low 16 lanes alone (Z1), for a window that
// fits them (w <= 15): half the permutes and adds.
#define SPREAD3N(p) \
	VMOVUPS.Z (p), K3, Z5; \
	VPERMPS.Z Z5, Z20, K4, Z6; \
	VADDPS Z6, Z1, Z1; \
	VMOVUPS.Z (p)(R8*1), K3, Z5; \
	VPERMPS.Z Z5, Z20, K5, Z6; \
	VADDPS Z6, Z1, Z1; \
	VMOVUPS.Z (p)(R8*2), K3, Z5; \
	VPERMPS.Z Z5, Z22, K6, Z6; \
	VADDPS Z6, Z1, Z1

// SPREADX is SPREAD3N if DX is set (a narrow window), else SPREAD3; narrow
// and done are labels unique to the call.
#define SPREADX(p, narrow, done) \
	TESTQ DX, DX; \
	JNZ narrow; \
	SPREAD3(p); \
	JMP done; \
narrow: \
	SPREAD3N(p); \
done:

// func col2im3DirectAVX512(x, cols *float32, ld, h, w, ho, wo, n int)
// The adjoint of im2col3DirectAVX512: every row iy of each of n images is
// the sum of its window terms, built in registers and stored once (lanes
// 1..w of the window; no padded plane). Row iy gets (ky, oy) = (1, iy/2)
// when iy is even, else (0, (iy+1)/2) if oy < ho, then (2, (iy−1)/2): by
// ky, then kx, as col2imGeneric adds them.
TEXT ·col2im3DirectAVX512(SB), NOSPLIT, $0-64
	MOVQ x+0(FP), SI
	MOVQ cols+8(FP), R13
	MOVQ ld+16(FP), R8
	MOVQ w+32(FP), R10
	MOVQ ho+40(FP), R11
	MOVQ wo+48(FP), CX
	SHLQ $2, R8
	XORQ DX, DX
	CMPQ R10, $15
	SETLE DX
	IMAGEROW
	LEAQ (R8)(R8*2), R14
	MOVQ $0x5555, AX
	KMOVW AX, K4
	MOVQ $0xaaaa, AX
	KMOVW AX, K5
	MOVQ $0x5554, AX
	KMOVW AX, K6
	VMOVDQU32 spreadLo<>(SB), Z20
	VMOVDQU32 spreadHi<>(SB), Z21
	VMOVDQU32 spreadLo2<>(SB), Z22
	VMOVDQU32 spreadHi2<>(SB), Z23
	MOVQ n+56(FP), BX
	TESTQ BX, BX
	JZ cdone
	MOVQ h+24(FP), R9
	TESTQ R9, R9
	JZ cdone

cimg:
	XORQ CX, CX

crow:
	VPXORD Z1, Z1, Z1
	VPXORD Z3, Z3, Z3
	TESTQ $1, CX
	JNZ codd
	MOVQ CX, AX
	SHRQ $1, AX
	IMULQ R12, AX
	ADDQ R13, AX
	ADDQ R14, AX
	SPREADX(AX, cnarrow1, cspread1)
	JMP cstore

codd:
	MOVQ CX, AX
	INCQ AX
	SHRQ $1, AX
	CMPQ AX, R11
	JGE ck2
	IMULQ R12, AX
	ADDQ R13, AX
	SPREADX(AX, cnarrow2, cspread2)

ck2:
	MOVQ CX, AX
	SHRQ $1, AX
	IMULQ R12, AX
	ADDQ R13, AX
	LEAQ (AX)(R14*2), AX
	SPREADX(AX, cnarrow3, cspread3)

cstore:
	VMOVUPS Z1, K1, -4(SI)
	VMOVUPS Z3, K2, 60(SI)
	ADDQ R10, SI
	INCQ CX
	CMPQ CX, R9
	JLT crow

	MOVQ R11, AX
	IMULQ R12, AX
	ADDQ AX, R13
	DECQ BX
	JNZ cimg

cdone:
	VZEROUPPER
	RET

// func im2col3PairsAVX512(cols *float32, ld int, x *float32, h, w, ho, wo, n int, tab *int32)
// im2col3DirectAVX512 for rows of at most 14 elements (wo <= 7), two
// output rows at a time: rows iy and iy+2 of an image are loaded into two
// registers, and one two-source permute per kx (tab: pairTables[wo])
// gathers the 2·wo outputs of rows oy and oy+1, which are adjacent in
// cols, to append. An odd last row goes alone.
TEXT ·im2col3PairsAVX512(SB), NOSPLIT, $0-72
	MOVQ cols+0(FP), DI
	MOVQ ld+8(FP), R8
	MOVQ w+32(FP), R10
	MOVQ ho+40(FP), R11
	MOVQ wo+48(FP), CX
	MOVQ tab+64(FP), DX
	SHLQ $2, R8
	MOVQ CX, R12
	SHLQ $6, R12
	MOVQ R10, CX
	INCQ CX
	ONES(AX)
	ANDQ $-2, AX
	KMOVW AX, K1
	SHLQ $2, R10
	MOVQ n+56(FP), BX
	TESTQ BX, BX
	JZ pdone
	TESTQ R11, R11
	JZ pdone
	MOVQ $-1, R13

pky:
	ROWSTART

pimg:
	IMGSTART
	SHRQ $1, R9
	JZ plast

ppair:
	CMPQ CX, $0
	JLT pz1
	CMPQ CX, h+24(FP)
	JGE pz1
	VMOVUPS.Z (AX), K1, Z1
	JMP pr2

pz1:
	VPXORD Z1, Z1, Z1

pr2:
	LEAQ 2(CX), R9
	CMPQ R9, h+24(FP)
	JGE pz2
	VMOVUPS.Z (AX)(R10*2), K1, Z3
	JMP pperm

pz2:
	VPXORD Z3, Z3, Z3

pperm:
	PERM3(Z3)
	LEAQ (R15)(R12*2), R15
	APPEND3(pkept)
	ADDQ $4, CX
	LEAQ (AX)(R10*4), AX
	// pairs left: (ho - (iy - (ky-1))/2) / 2, recomputed from CX
	MOVQ CX, R9
	SUBQ R13, R9
	SHRQ $1, R9
	NEGQ R9
	ADDQ R11, R9
	CMPQ R9, $2
	JGE ppair

plast:
	TESTQ $1, R11
	JZ pnext
	CMPQ CX, $0
	JLT pz3
	CMPQ CX, h+24(FP)
	JGE pz3
	VMOVUPS.Z (AX), K1, Z1
	JMP pperm1

pz3:
	VPXORD Z1, Z1, Z1

pperm1:
	PERM3(Z1)
	ADDQ R12, R15
	APPEND3(pkept1)

pnext:
	IMGNEXT
	JNZ pimg

	ROWEND
	KYNEXT
	JLT pky

pdone:
	VZEROUPPER
	RET
