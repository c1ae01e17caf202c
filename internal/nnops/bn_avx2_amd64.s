//go:build !purego

#include "textflag.h"
#include "kernels_amd64.h"

// The AVX2 versions of bn_amd64.s (and of the sums of elem.go and
// loss.go), for CPUs without AVX-512. Float32 lanes are widened to float64
// for the sums, like the Go loops do; a float64 product of two float32
// values is exact, so the FMAs of the squares round like a multiply and an
// add. The ReLU is VPMAXSD with 0 on the float bits (a negative float is a
// negative int32), which is relu0 bit for bit, −0 and NaN included; "x > 0"
// is VPCMPGTD with 0, which is keepIfPos's test. Y15 is zero throughout;
// tails of fewer than 8 (or 4) elements are masked loads and stores.

// tailmask<>+32−4r is the mask of the low r lanes (r ≤ 8).
DATA tailmask<>+0(SB)/8, $0xffffffffffffffff
DATA tailmask<>+8(SB)/8, $0xffffffffffffffff
DATA tailmask<>+16(SB)/8, $0xffffffffffffffff
DATA tailmask<>+24(SB)/8, $0xffffffffffffffff
DATA tailmask<>+32(SB)/8, $0
DATA tailmask<>+40(SB)/8, $0
DATA tailmask<>+48(SB)/8, $0
DATA tailmask<>+56(SB)/8, $0
GLOBL tailmask<>(SB), RODATA|NOPTR, $64

// TAILMASK sets y (a Y or X register) to the mask of the low n lanes; it
// clobbers AX and CX.
#define TAILMASK(n, y) \
	LEAQ tailmask<>+32(SB), AX; \
	MOVQ n, CX; \
	SHLQ $2, CX; \
	SUBQ CX, AX; \
	VMOVDQU (AX), y

// WIDEN8 converts the eight float32 lanes of y (low half x) to float64:
// the low four to t, the high four to y.
#define WIDEN8(y, x, t) \
	VCVTPS2PD x, t; \
	VEXTRACTF128 $1, y, x; \
	VCVTPS2PD x, y

// func sumSqReLUAVX2(x *float32, n int) (s, q float64)
TEXT ·sumSqReLUAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), BX
	VPXOR Y15, Y15, Y15
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	CMPQ BX, $16
	JLT sq8

sqloop:
	VPMAXSD (SI), Y15, Y8
	VPMAXSD 32(SI), Y15, Y9
	WIDEN8(Y8, X8, Y10)
	WIDEN8(Y9, X9, Y11)
	VADDPD Y10, Y0, Y0
	VADDPD Y8, Y1, Y1
	VADDPD Y11, Y2, Y2
	VADDPD Y9, Y3, Y3
	VFMADD231PD Y10, Y10, Y4
	VFMADD231PD Y8, Y8, Y5
	VFMADD231PD Y11, Y11, Y6
	VFMADD231PD Y9, Y9, Y7
	ADDQ $64, SI
	SUBQ $16, BX
	CMPQ BX, $16
	JGE sqloop

sq8:
	CMPQ BX, $8
	JLT sqtail
	VPMAXSD (SI), Y15, Y8
	WIDEN8(Y8, X8, Y10)
	VADDPD Y10, Y0, Y0
	VADDPD Y8, Y1, Y1
	VFMADD231PD Y10, Y10, Y4
	VFMADD231PD Y8, Y8, Y5
	ADDQ $32, SI
	SUBQ $8, BX

sqtail:
	TESTQ BX, BX
	JZ sqdone
	TAILMASK(BX, Y12)
	VMASKMOVPS (SI), Y12, Y8
	VPMAXSD Y8, Y15, Y8
	WIDEN8(Y8, X8, Y10)
	VADDPD Y10, Y2, Y2
	VADDPD Y8, Y3, Y3
	VFMADD231PD Y10, Y10, Y6
	VFMADD231PD Y8, Y8, Y7

sqdone:
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VADDPD Y2, Y0, Y0
	HSUMPD4(Y0, X0, X1)
	VMOVSD X0, s+16(FP)
	VADDPD Y5, Y4, Y4
	VADDPD Y7, Y6, Y6
	VADDPD Y6, Y4, Y4
	HSUMPD4(Y4, X4, X5)
	VMOVSD X4, q+24(FP)
	VZEROUPPER
	RET

// SSRELU sets y = max(m, 0)·Y1 + Y2 for the eight float32 at m (relu0,
// then a multiply and an add rounded each, as the Go loop does).
#define SSRELU(m, y) \
	VPMAXSD m, Y15, y; \
	VMULPS Y1, y, y; \
	VADDPS Y2, y, y

// func scaleShiftReLUAVX2(dst, x *float32, n int, a, b float32)
TEXT ·scaleShiftReLUAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), BX
	VBROADCASTSS a+24(FP), Y1
	VBROADCASTSS b+28(FP), Y2
	VPXOR Y15, Y15, Y15
	CMPQ BX, $16
	JLT ss8

ssloop:
	SSRELU((SI), Y4)
	SSRELU(32(SI), Y5)
	VMOVUPS Y4, (DI)
	VMOVUPS Y5, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, BX
	CMPQ BX, $16
	JGE ssloop

ss8:
	CMPQ BX, $8
	JLT sstail
	SSRELU((SI), Y4)
	VMOVUPS Y4, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, BX

sstail:
	TESTQ BX, BX
	JZ ssdone
	TAILMASK(BX, Y12)
	VMASKMOVPS (SI), Y12, Y4
	SSRELU(Y4, Y4)
	VMASKMOVPS Y4, Y12, (DI)

ssdone:
	VZEROUPPER
	RET

// SUMGRAD adds the eight g at mg to Y0 (low four) and Y1 (high four) and
// g·((relu0(x) − mean)·inv) for the eight x at mx to Y2 and Y3, with the
// float32 products rounded as in the Go loop. k is ANDed into the
// products (all ones, or the tail's mask).
#define SUMGRAD(mg, mx, k) \
	VPMAXSD mx, Y15, Y5; \
	VSUBPS Y10, Y5, Y5; \
	VMULPS Y11, Y5, Y5; \
	VMOVUPS mg, Y4; \
	VMULPS Y4, Y5, Y5; \
	VANDPS k, Y5, Y5; \
	WIDEN8(Y4, X4, Y6); \
	VADDPD Y6, Y0, Y0; \
	VADDPD Y4, Y1, Y1; \
	WIDEN8(Y5, X5, Y7); \
	VADDPD Y7, Y2, Y2; \
	VADDPD Y5, Y3, Y3

// func sumGradReLUAVX2(grad, x *float32, n int, mean, inv float32) (sg, sgx float64)
TEXT ·sumGradReLUAVX2(SB), NOSPLIT, $0-48
	MOVQ grad+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), BX
	VBROADCASTSS mean+24(FP), Y10
	VBROADCASTSS inv+28(FP), Y11
	VPXOR Y15, Y15, Y15
	VPCMPEQD Y13, Y13, Y13
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	CMPQ BX, $8
	JLT gtail

gloop:
	SUMGRAD((SI), (DI), Y13)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, BX
	CMPQ BX, $8
	JGE gloop

gtail:
	TESTQ BX, BX
	JZ gdone
	TAILMASK(BX, Y12)
	VMASKMOVPS (SI), Y12, Y8
	VMASKMOVPS (DI), Y12, Y9
	SUMGRAD(Y8, Y9, Y12)

gdone:
	VADDPD Y1, Y0, Y0
	HSUMPD4(Y0, X0, X1)
	VMOVSD X0, sg+32(FP)
	VADDPD Y3, Y2, Y2
	HSUMPD4(Y2, X2, X3)
	VMOVSD X2, sgx+40(FP)
	VZEROUPPER
	RET

// GRADRELU sets y = a·g − b − e·x where x > 0, else 0, for the eight g at
// mg and x at mx (each product and difference rounded, as in the Go loop).
#define GRADRELU(mg, mx, y) \
	VMULPS mg, Y1, y; \
	VSUBPS Y2, y, y; \
	VMOVUPS mx, Y6; \
	VMULPS Y3, Y6, Y7; \
	VSUBPS Y7, y, y; \
	VPCMPGTD Y15, Y6, Y6; \
	VANDPS Y6, y, y

// func gradReLUAVX2(dx, grad, x *float32, n int, a, b, e float32)
TEXT ·gradReLUAVX2(SB), NOSPLIT, $0-44
	MOVQ dx+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ n+24(FP), BX
	VBROADCASTSS a+32(FP), Y1
	VBROADCASTSS b+36(FP), Y2
	VBROADCASTSS e+40(FP), Y3
	VPXOR Y15, Y15, Y15
	CMPQ BX, $16
	JLT d8

dloop:
	GRADRELU((SI), (DX), Y4)
	GRADRELU(32(SI), 32(DX), Y5)
	VMOVUPS Y4, (DI)
	VMOVUPS Y5, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, BX
	CMPQ BX, $16
	JGE dloop

d8:
	CMPQ BX, $8
	JLT dtail
	GRADRELU((SI), (DX), Y4)
	VMOVUPS Y4, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, BX

dtail:
	TESTQ BX, BX
	JZ ddone
	TAILMASK(BX, Y12)
	VMASKMOVPS (SI), Y12, Y8
	VMASKMOVPS (DX), Y12, Y9
	GRADRELU(Y8, Y9, Y4)
	VMASKMOVPS Y4, Y12, (DI)

ddone:
	VZEROUPPER
	RET

// func sumAVX2(x *float32, n int) float64
TEXT ·sumAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), BX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	CMPQ BX, $16
	JLT s4loop

s16loop:
	VCVTPS2PD (SI), Y4
	VCVTPS2PD 16(SI), Y5
	VCVTPS2PD 32(SI), Y6
	VCVTPS2PD 48(SI), Y7
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VADDPD Y6, Y2, Y2
	VADDPD Y7, Y3, Y3
	ADDQ $64, SI
	SUBQ $16, BX
	CMPQ BX, $16
	JGE s16loop

s4loop:
	CMPQ BX, $4
	JLT stail
	VCVTPS2PD (SI), Y4
	VADDPD Y4, Y0, Y0
	ADDQ $16, SI
	SUBQ $4, BX
	JMP s4loop

stail:
	TESTQ BX, BX
	JZ sdone
	TAILMASK(BX, X12)
	VMASKMOVPS (SI), X12, X4
	VCVTPS2PD X4, Y4
	VADDPD Y4, Y1, Y1

sdone:
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VADDPD Y2, Y0, Y0
	HSUMPD4(Y0, X0, X1)
	VMOVSD X0, ret+16(FP)
	VZEROUPPER
	RET

// DOT3 widens the four p and z at mp and mz and adds their products into
// pp, zz and pz (exact float64 products: the FMA rounds like the Go loop's
// multiply and add).
#define DOT3(mp, mz, pp, zz, pz) \
	VCVTPS2PD mp, Y6; \
	VCVTPS2PD mz, Y7; \
	VFMADD231PD Y6, Y6, pp; \
	VFMADD231PD Y7, Y7, zz; \
	VFMADD231PD Y7, Y6, pz

// func dot3AVX2(p, z *float32, n int) (pp, zz, pz float64)
TEXT ·dot3AVX2(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), SI
	MOVQ z+8(FP), DI
	MOVQ n+16(FP), BX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5

d8loop:
	CMPQ BX, $8
	JLT d4
	DOT3((SI), (DI), Y0, Y1, Y2)
	DOT3(16(SI), 16(DI), Y3, Y4, Y5)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, BX
	JMP d8loop

d4:
	CMPQ BX, $4
	JLT dtail
	DOT3((SI), (DI), Y0, Y1, Y2)
	ADDQ $16, SI
	ADDQ $16, DI
	SUBQ $4, BX

dtail:
	TESTQ BX, BX
	JZ ddone
	TAILMASK(BX, X12)
	VMASKMOVPS (SI), X12, X8
	VMASKMOVPS (DI), X12, X9
	DOT3(X8, X9, Y3, Y4, Y5)

ddone:
	VADDPD Y3, Y0, Y0
	VADDPD Y4, Y1, Y1
	VADDPD Y5, Y2, Y2
	HSUMPD4(Y0, X0, X6)
	VMOVSD X0, pp+24(FP)
	HSUMPD4(Y1, X1, X6)
	VMOVSD X1, zz+32(FP)
	HSUMPD4(Y2, X2, X6)
	VMOVSD X2, pz+40(FP)
	VZEROUPPER
	RET
