//go:build !purego

#include "textflag.h"

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
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K3
	LEAQ -1(CX)(CX*1), CX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
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
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K3
	LEAQ -1(CX)(CX*1), CX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
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
