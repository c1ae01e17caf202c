//go:build !purego

#include "textflag.h"
#include "kernels_amd64.h"

// The AVX2 versions of patch_amd64.s, for CPUs without AVX-512. AVX2 has
// no mask registers and no two-source permute: windows are read with
// VMASKMOVPS (masked-off lanes are neither read nor faulted on), the
// stride-2 de-interleave is VSHUFPS and VPERMPD (two shuffles per eight
// outputs; gathers are slower on most CPUs), the interleave of col2im is
// VPERMPD and VUNPCKLPS/VUNPCKHPS, and output rows are stored whole when
// the stores stay inside the output and piece by piece (STORE7) at its
// end. Masked stores are kept out of the hot loops: some CPUs (AMD before
// Zen 4) run them slowly. General registers go into X registers with
// VMOVQ, never MOVQ: a legacy-SSE instruction after 256-bit ones pays an
// AVX-SSE transition (it made col2im3 five times slower here).

// iota32<>: the int32 lanes 0..31, for the masks of the low n lanes.
DATA iota32<>+0(SB)/4, $0
DATA iota32<>+4(SB)/4, $1
DATA iota32<>+8(SB)/4, $2
DATA iota32<>+12(SB)/4, $3
DATA iota32<>+16(SB)/4, $4
DATA iota32<>+20(SB)/4, $5
DATA iota32<>+24(SB)/4, $6
DATA iota32<>+28(SB)/4, $7
DATA iota32<>+32(SB)/4, $8
DATA iota32<>+36(SB)/4, $9
DATA iota32<>+40(SB)/4, $10
DATA iota32<>+44(SB)/4, $11
DATA iota32<>+48(SB)/4, $12
DATA iota32<>+52(SB)/4, $13
DATA iota32<>+56(SB)/4, $14
DATA iota32<>+60(SB)/4, $15
DATA iota32<>+64(SB)/4, $16
DATA iota32<>+68(SB)/4, $17
DATA iota32<>+72(SB)/4, $18
DATA iota32<>+76(SB)/4, $19
DATA iota32<>+80(SB)/4, $20
DATA iota32<>+84(SB)/4, $21
DATA iota32<>+88(SB)/4, $22
DATA iota32<>+92(SB)/4, $23
DATA iota32<>+96(SB)/4, $24
DATA iota32<>+100(SB)/4, $25
DATA iota32<>+104(SB)/4, $26
DATA iota32<>+108(SB)/4, $27
DATA iota32<>+112(SB)/4, $28
DATA iota32<>+116(SB)/4, $29
DATA iota32<>+120(SB)/4, $30
DATA iota32<>+124(SB)/4, $31
GLOBL iota32<>(SB), RODATA|NOPTR, $128

// rot1<>: lane i takes lane i+1 (mod 8), shifting a row of outputs by one.
DATA rot1<>+0(SB)/4, $1
DATA rot1<>+4(SB)/4, $2
DATA rot1<>+8(SB)/4, $3
DATA rot1<>+12(SB)/4, $4
DATA rot1<>+16(SB)/4, $5
DATA rot1<>+20(SB)/4, $6
DATA rot1<>+24(SB)/4, $7
DATA rot1<>+28(SB)/4, $0
GLOBL rot1<>(SB), RODATA|NOPTR, $32

// dupLo<>, dupHi<>: lanes 2j and 2j+1 take lane j (low half) or 4+j.
DATA dupLo<>+0(SB)/4, $0
DATA dupLo<>+4(SB)/4, $0
DATA dupLo<>+8(SB)/4, $1
DATA dupLo<>+12(SB)/4, $1
DATA dupLo<>+16(SB)/4, $2
DATA dupLo<>+20(SB)/4, $2
DATA dupLo<>+24(SB)/4, $3
DATA dupLo<>+28(SB)/4, $3
GLOBL dupLo<>(SB), RODATA|NOPTR, $32

DATA dupHi<>+0(SB)/4, $4
DATA dupHi<>+4(SB)/4, $4
DATA dupHi<>+8(SB)/4, $5
DATA dupHi<>+12(SB)/4, $5
DATA dupHi<>+16(SB)/4, $6
DATA dupHi<>+20(SB)/4, $6
DATA dupHi<>+24(SB)/4, $7
DATA dupHi<>+28(SB)/4, $7
GLOBL dupHi<>(SB), RODATA|NOPTR, $32

// evenLanes<>: all ones in the even lanes.
DATA evenLanes<>+0(SB)/8, $0x00000000ffffffff
DATA evenLanes<>+8(SB)/8, $0x00000000ffffffff
DATA evenLanes<>+16(SB)/8, $0x00000000ffffffff
DATA evenLanes<>+24(SB)/8, $0x00000000ffffffff
GLOBL evenLanes<>(SB), RODATA|NOPTR, $32

// WINMASKS sets Y12..Y15 to the masks of the low n lanes of a 32-lane
// window (n in a general register).
#define WINMASKS(n) \
	VMOVQ n, X15; \
	VPBROADCASTD X15, Y15; \
	VPCMPGTD iota32<>+0(SB), Y15, Y12; \
	VPCMPGTD iota32<>+32(SB), Y15, Y13; \
	VPCMPGTD iota32<>+64(SB), Y15, Y14; \
	VPCMPGTD iota32<>+96(SB), Y15, Y15

// EVENS sets y to the even elements of the sixteen in a (low) and b;
// ODDS to the odd ones.
#define EVENS(a, b, y) \
	VSHUFPS $0x88, b, a, y; \
	VPERMPD $0xD8, y, y

#define ODDS(a, b, y) \
	VSHUFPS $0xDD, b, a, y; \
	VPERMPD $0xD8, y, y

// func gather2AVX2(dst, src *float32, rows, wo, sstride int)
// dst[r·wo + j] = src[r·sstride + 2j] for r < rows, j < wo <= 16.
TEXT ·gather2AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), BX
	MOVQ wo+24(FP), CX
	MOVQ sstride+32(FP), R8
	SHLQ $2, R8
	TESTQ BX, BX
	JZ gdone
	MOVQ CX, DX
	SHLQ $2, DX
	MOVQ BX, R10
	IMULQ DX, R10
	ADDQ DI, R10 // the end of dst
	LEAQ -1(CX)(CX*1), AX
	WINMASKS(AX) // the 2wo−1 elements of a window
	CMPQ CX, $8
	JGT gwide

gnarrow:
	VMASKMOVPS (SI), Y12, Y0
	VMASKMOVPS 32(SI), Y13, Y1
	EVENS(Y0, Y1, Y4)
	LEAQ 32(DI), AX
	CMPQ AX, R10
	JA gnexact
	VMOVUPS Y4, (DI)

gnnext:
	ADDQ R8, SI
	ADDQ DX, DI
	DECQ BX
	JNZ gnarrow
	JMP gdone

gnexact:
	// wo < 8 here: a row of 8 fits in dst.
	STORE7(Y4, X4, CX, 0, DI, AX, gn2, gn1, gn0)
	JMP gnnext

gwide:
	VMASKMOVPS (SI), Y12, Y0
	VMASKMOVPS 32(SI), Y13, Y1
	VMASKMOVPS 64(SI), Y14, Y2
	VMASKMOVPS 96(SI), Y15, Y3
	EVENS(Y0, Y1, Y4)
	EVENS(Y2, Y3, Y5)
	VMOVUPS Y4, (DI)
	LEAQ 64(DI), AX
	CMPQ AX, R10
	JA gwexact
	VMOVUPS Y5, 32(DI)

gwnext:
	ADDQ R8, SI
	ADDQ DX, DI
	DECQ BX
	JNZ gwide
	JMP gdone

gwexact:
	// 8 < wo < 16 here: a row of 16 fits in dst.
	STORE7(Y5, X5, CX, 32, DI, AX, gw2, gw1, gw0)
	JMP gwnext

gdone:
	VZEROUPPER
	RET

// func scatter2AVX2(dst, src *float32, rows, wo, dstride int)
// dst[r·dstride + 2j] += src[r·wo + j] for r < rows, j < wo <= 16. The odd
// elements between are not written (masked stores: this kernel serves the
// rare geometries the 3×3 plane kernels do not).
TEXT ·scatter2AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), BX
	MOVQ wo+24(FP), CX
	MOVQ dstride+32(FP), R8
	SHLQ $2, R8
	TESTQ BX, BX
	JZ sdone
	MOVQ CX, DX
	SHLQ $2, DX
	VMOVQ CX, X15
	VPBROADCASTD X15, Y15
	VPCMPGTD iota32<>+0(SB), Y15, Y10 // the wo source lanes
	VPCMPGTD iota32<>+32(SB), Y15, Y11
	LEAQ -1(CX)(CX*1), AX
	WINMASKS(AX)
	VMOVDQU evenLanes<>(SB), Y9
	VPAND Y9, Y12, Y12 // the even lanes of the window
	VPAND Y9, Y13, Y13
	VPAND Y9, Y14, Y14
	VPAND Y9, Y15, Y15
	VMOVDQU dupLo<>(SB), Y8
	VMOVDQU dupHi<>(SB), Y9
	CMPQ CX, $8
	JGT swide

snarrow:
	VMASKMOVPS (SI), Y10, Y0
	VPERMPS Y0, Y8, Y1
	VPERMPS Y0, Y9, Y2
	VMASKMOVPS (DI), Y12, Y3
	VADDPS Y1, Y3, Y3
	VMASKMOVPS Y3, Y12, (DI)
	VMASKMOVPS 32(DI), Y13, Y3
	VADDPS Y2, Y3, Y3
	VMASKMOVPS Y3, Y13, 32(DI)
	ADDQ DX, SI
	ADDQ R8, DI
	DECQ BX
	JNZ snarrow
	JMP sdone

swide:
	VMASKMOVPS (SI), Y10, Y0
	VMASKMOVPS 32(SI), Y11, Y4
	VPERMPS Y0, Y8, Y1
	VPERMPS Y0, Y9, Y2
	VMASKMOVPS (DI), Y12, Y3
	VADDPS Y1, Y3, Y3
	VMASKMOVPS Y3, Y12, (DI)
	VMASKMOVPS 32(DI), Y13, Y3
	VADDPS Y2, Y3, Y3
	VMASKMOVPS Y3, Y13, 32(DI)
	VPERMPS Y4, Y8, Y1
	VPERMPS Y4, Y9, Y2
	VMASKMOVPS 64(DI), Y14, Y3
	VADDPS Y1, Y3, Y3
	VMASKMOVPS Y3, Y14, 64(DI)
	VMASKMOVPS 96(DI), Y15, Y3
	VADDPS Y2, Y3, Y3
	VMASKMOVPS Y3, Y15, 96(DI)
	ADDQ DX, SI
	ADDQ R8, DI
	DECQ BX
	JNZ swide

sdone:
	VZEROUPPER
	RET

// The rows of the 3×3 plane kernels: R13 points at a window (2wo+1
// elements, masks Y12..Y15) of the plane; R14, R15 and DX at the outputs
// for kx = 0, 1, 2. Narrow rows (wo <= 7) have one vector of outputs per
// kx, wide rows (8 <= wo <= 15) two.

// IROWN sets Y4, Y6, Y8 to the outputs of a narrow row for kx = 0, 1, 2.
#define IROWN \
	VMASKMOVPS (R13), Y12, Y0; \
	VMASKMOVPS 32(R13), Y13, Y1; \
	EVENS(Y0, Y1, Y4); \
	ODDS(Y0, Y1, Y6); \
	VPERMPS Y4, Y11, Y8

// IROWW sets Y4:Y5, Y6:Y7, Y8:Y9 to the outputs of a wide row for kx = 0,
// 1, 2: kx = 2 is kx = 0 shifted by one output.
#define IROWW \
	VMASKMOVPS (R13), Y12, Y0; \
	VMASKMOVPS 32(R13), Y13, Y1; \
	VMASKMOVPS 64(R13), Y14, Y2; \
	VMASKMOVPS 96(R13), Y15, Y3; \
	EVENS(Y0, Y1, Y4); \
	EVENS(Y2, Y3, Y5); \
	ODDS(Y0, Y1, Y6); \
	ODDS(Y2, Y3, Y7); \
	VPERMPS Y4, Y11, Y8; \
	VPERMPS Y5, Y11, Y9; \
	VBLENDPS $0x80, Y9, Y8, Y8

// NEXTROW moves to the window two plane rows down and the next outputs.
#define NEXTROW \
	LEAQ (R13)(R9*2), R13; \
	ADDQ R11, R14; \
	ADDQ R11, R15; \
	ADDQ R11, DX

// NEXTKY moves to the next kernel row: one plane row down, three patch
// rows on.
#define NEXTKY \
	ADDQ R9, SI; \
	LEAQ (DI)(R8*2), DI; \
	ADDQ R8, DI

// KYROWS points R13, R14, R15 and DX at the first row of kernel row ky.
#define KYROWS \
	MOVQ SI, R13; \
	MOVQ DI, R14; \
	LEAQ (R14)(R8*1), R15; \
	LEAQ (R15)(R8*1), DX

// func im2col3AVX2(cols *float32, np int, plane *float32, pw, ho, wo int)
// cols[(ky·3+kx)·np + oy·wo + j] = plane[(2oy+ky)·pw + 2j+kx], wo <= 15.
// The first nf output rows are stored whole (the part past wo is written
// over by the next row), the last ne = ho − nf piece by piece.
TEXT ·im2col3AVX2(SB), NOSPLIT, $16-48
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
	LEAQ 1(CX)(CX*1), AX
	WINMASKS(AX)
	VMOVDQU rot1<>(SB), Y11
	// nf: the rows oy with oy·wo + V <= ho·wo (V = 8 or 16 lanes), at
	// most ho.
	MOVQ $8, R12
	CMPQ CX, $7
	JLE ivec
	MOVQ $16, R12

ivec:
	MOVQ R10, AX
	IMULQ CX, AX
	SUBQ R12, AX
	JGE idiv
	XORQ AX, AX
	JMP inf

idiv:
	XORQ DX, DX
	DIVQ CX
	INCQ AX
	CMPQ AX, R10
	CMOVQGT R10, AX

inf:
	MOVQ R10, DX
	SUBQ AX, DX
	MOVQ DX, ne-16(SP)
	MOVQ AX, R10
	MOVQ $3, ky-8(SP)
	CMPQ CX, $7
	JGT iwky

inky:
	KYROWS
	MOVQ R10, BX
	TESTQ BX, BX
	JZ inex

infast:
	IROWN
	VMOVUPS Y4, (R14)
	VMOVUPS Y6, (R15)
	VMOVUPS Y8, (DX)
	NEXTROW
	DECQ BX
	JNZ infast

inex:
	MOVQ ne-16(SP), BX
	TESTQ BX, BX
	JZ innext

inexact:
	IROWN
	STORE7(Y4, X4, CX, 0, R14, AX, in02, in01, in00)
	STORE7(Y6, X6, CX, 0, R15, AX, in12, in11, in10)
	STORE7(Y8, X8, CX, 0, DX, AX, in22, in21, in20)
	NEXTROW
	DECQ BX
	JNZ inexact

innext:
	NEXTKY
	DECQ ky-8(SP)
	JNZ inky
	VZEROUPPER
	RET

iwky:
	KYROWS
	MOVQ R10, BX
	TESTQ BX, BX
	JZ iwex

iwfast:
	IROWW
	VMOVUPS Y4, (R14)
	VMOVUPS Y5, 32(R14)
	VMOVUPS Y6, (R15)
	VMOVUPS Y7, 32(R15)
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 32(DX)
	NEXTROW
	DECQ BX
	JNZ iwfast

iwex:
	MOVQ ne-16(SP), BX
	TESTQ BX, BX
	JZ iwnext

iwexact:
	IROWW
	VMOVUPS Y4, (R14)
	VMOVUPS Y6, (R15)
	VMOVUPS Y8, (DX)
	STORE7(Y5, X5, CX, 32, R14, AX, iw02, iw01, iw00)
	STORE7(Y7, X7, CX, 32, R15, AX, iw12, iw11, iw10)
	STORE7(Y9, X9, CX, 32, DX, AX, iw22, iw21, iw20)
	NEXTROW
	DECQ BX
	JNZ iwexact

iwnext:
	NEXTKY
	DECQ ky-8(SP)
	JNZ iwky
	VZEROUPPER
	RET

// CSPREAD loads eight cols values of kx = 0, 1 (at co(R14), co(R15), mask
// cm) and of kx = 2 shifted by one (at wco(DX), mask wm) and spreads them
// over sixteen plane lanes: Y3:Y0 = v0 u0 v1 u1 … (kx = 0 to the even
// lanes, kx = 1 to the odd ones), Y4:Y2 = 0 0 w0 0 w1 0 … (kx = 2).
#define CSPREAD(co, wco, cm, wm) \
	VMASKMOVPS co(R14), cm, Y0; \
	VMASKMOVPS co(R15), cm, Y1; \
	VMASKMOVPS wco(DX), wm, Y2; \
	VPERMPD $0xD8, Y0, Y0; \
	VPERMPD $0xD8, Y1, Y1; \
	VPERMPD $0xD8, Y2, Y2; \
	VUNPCKLPS Y1, Y0, Y3; \
	VUNPCKHPS Y1, Y0, Y0; \
	VPXOR Y1, Y1, Y1; \
	VUNPCKLPS Y1, Y2, Y4; \
	VUNPCKHPS Y1, Y2, Y2

// CADD adds i and then s to the eight plane elements at po(R13) (kx = 0
// before kx = 2, as the Go loops do).
#define CADD(po, i, s) \
	VMOVUPS po(R13), Y1; \
	VADDPS i, Y1, Y1; \
	VADDPS s, Y1, Y1; \
	VMOVUPS Y1, po(R13)

// CADDM is CADD for the lanes of the window only (lanes io.. of the
// 2wo+1 in win-8(SP)), for the rows at the end of the plane.
#define CADDM(po, io, i, s) \
	VPBROADCASTD win-8(SP), Y5; \
	VPCMPGTD iota32<>+io(SB), Y5, Y6; \
	VMASKMOVPS po(R13), Y6, Y1; \
	VADDPS i, Y1, Y1; \
	VADDPS s, Y1, Y1; \
	VMASKMOVPS Y1, Y6, po(R13)

// func col2im3AVX2(plane *float32, pw int, cols *float32, np, ho, wo int)
// plane[(2oy+ky)·pw + 2j+kx] += cols[(ky·3+kx)·np + oy·wo + j], wo <= 15,
// in the order ky, oy, kx. A row's window is read and written back whole
// (16 or 32 lanes: +0 is added past the window) unless that would go past
// the last window, (2ho)·pw + 2wo + 1 elements; then only the window.
TEXT ·col2im3AVX2(SB), NOSPLIT, $16-48
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
	MOVQ R10, AX
	SHLQ $1, AX
	IMULQ R9, AX
	LEAQ 4(AX)(R11*2), AX
	LEAQ (SI)(AX*1), R12 // the end of the last window
	LEAQ 1(CX)(CX*1), AX
	MOVL AX, win-8(SP)
	MOVQ $3, ky-16(SP)
	// Y12, Y13: the lanes j < wo of cols (0..7, 8..15); Y14, Y15: the
	// lanes 1 <= j <= wo, for kx = 2 read one element early.
	VMOVQ CX, X15
	VPBROADCASTD X15, Y15
	VPCMPGTD iota32<>+0(SB), Y15, Y12
	VPCMPGTD iota32<>+32(SB), Y15, Y13
	LEAQ 1(CX), AX
	VMOVQ AX, X15
	VPBROADCASTD X15, Y15
	VPCMPGTD iota32<>+0(SB), Y15, Y14
	VPXOR Y0, Y0, Y0
	VPBLENDD $1, Y0, Y14, Y14
	VPCMPGTD iota32<>+32(SB), Y15, Y15
	CMPQ CX, $7
	JGT cwky

cnky:
	KYROWS
	MOVQ R10, BX
	TESTQ BX, BX
	JZ cnnext

cnrow:
	CSPREAD(0, -4, Y12, Y14)
	LEAQ 64(R13), AX
	CMPQ AX, R12
	JA cnmask
	CADD(0, Y3, Y4)
	CADD(32, Y0, Y2)

cnrowdone:
	NEXTROW
	DECQ BX
	JNZ cnrow

cnnext:
	NEXTKY
	DECQ ky-16(SP)
	JNZ cnky
	VZEROUPPER
	RET

cnmask:
	CADDM(0, 0, Y3, Y4)
	CADDM(32, 32, Y0, Y2)
	JMP cnrowdone

cwky:
	KYROWS
	MOVQ R10, BX
	TESTQ BX, BX
	JZ cwnext

cwrow:
	LEAQ 128(R13), AX
	CMPQ AX, R12
	JA cwmask
	CSPREAD(0, -4, Y12, Y14)
	CADD(0, Y3, Y4)
	CADD(32, Y0, Y2)
	CSPREAD(32, 28, Y13, Y15)
	CADD(64, Y3, Y4)
	CADD(96, Y0, Y2)

cwrowdone:
	NEXTROW
	DECQ BX
	JNZ cwrow

cwnext:
	NEXTKY
	DECQ ky-16(SP)
	JNZ cwky
	VZEROUPPER
	RET

cwmask:
	CSPREAD(0, -4, Y12, Y14)
	CADDM(0, 0, Y3, Y4)
	CADDM(32, 32, Y0, Y2)
	CSPREAD(32, 28, Y13, Y15)
	CADDM(64, 64, Y3, Y4)
	CADDM(96, 96, Y0, Y2)
	JMP cwrowdone

// func copyRowsAVX2(dst *float32, dstride int, src *float32, sstride int, rows, w int)
// dst[r·dstride + j] = src[r·sstride + j] for r < rows, j < w <= 32: each
// row as two to four vectors, the last ending at w (overlapping the one
// before it), so nothing past a row is read or written.
TEXT ·copyRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ dstride+8(FP), R8
	MOVQ src+16(FP), SI
	MOVQ sstride+24(FP), R9
	MOVQ rows+32(FP), BX
	MOVQ w+40(FP), CX
	SHLQ $2, R8
	SHLQ $2, R9
	TESTQ BX, BX
	JZ cdone
	MOVQ CX, DX
	SHLQ $2, DX
	CMPQ CX, $16
	JGT c32
	CMPQ CX, $8
	JGE c16
	CMPQ CX, $4
	JGE c8
	CMPQ CX, $2
	JGE c4
	TESTQ CX, CX
	JZ cdone

c1:
	MOVL (SI), AX
	MOVL AX, (DI)
	ADDQ R9, SI
	ADDQ R8, DI
	DECQ BX
	JNZ c1
	JMP cdone

c4:
	MOVQ (SI), AX
	MOVQ -8(SI)(DX*1), R10
	MOVQ AX, (DI)
	MOVQ R10, -8(DI)(DX*1)
	ADDQ R9, SI
	ADDQ R8, DI
	DECQ BX
	JNZ c4
	JMP cdone

c8:
	VMOVUPS (SI), X0
	VMOVUPS -16(SI)(DX*1), X1
	VMOVUPS X0, (DI)
	VMOVUPS X1, -16(DI)(DX*1)
	ADDQ R9, SI
	ADDQ R8, DI
	DECQ BX
	JNZ c8
	JMP cdone

c16:
	VMOVUPS (SI), Y0
	VMOVUPS -32(SI)(DX*1), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, -32(DI)(DX*1)
	ADDQ R9, SI
	ADDQ R8, DI
	DECQ BX
	JNZ c16
	JMP cdone

c32:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS -64(SI)(DX*1), Y2
	VMOVUPS -32(SI)(DX*1), Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, -64(DI)(DX*1)
	VMOVUPS Y3, -32(DI)(DX*1)
	ADDQ R9, SI
	ADDQ R8, DI
	DECQ BX
	JNZ c32

cdone:
	VZEROUPPER
	RET
