// Macros shared by the AVX-512 kernels of this package.

// ONES sets r = (1 << CX) - 1: a mask of the low CX bits.
#define ONES(r) \
	MOVQ $1, r; \
	SHLQ CX, r; \
	DECQ r

// HSUMPD adds the eight float64 lanes of z (whose low halves are y and x)
// into the low lane of x; yt and xt are scratch.
#define HSUMPD(z, y, x, yt, xt) \
	VEXTRACTF64X4 $1, z, yt; \
	VADDPD yt, y, y; \
	VEXTRACTF128 $1, y, xt; \
	VADDPD xt, x, x; \
	VPERMILPD $1, x, xt; \
	VADDSD xt, x, x

// WIDEN converts the sixteen float32 lanes of zs (low half ys) to float64:
// the low eight to zlo, the high eight to zhi (yhi is zhi's low half).
#define WIDEN(zs, ys, zlo, zhi, yhi) \
	VCVTPS2PD ys, zlo; \
	VEXTRACTF64X4 $1, zs, yhi; \
	VCVTPS2PD yhi, zhi

// WINDOW3 sets, for CX = wo: K3 to the wo lanes of an output row and K1, K2
// to the 2wo+1 elements of a 3-wide stride-2 window (low and high 16). It
// clobbers AX and CX.
#define WINDOW3 \
	ONES(AX); \
	KMOVW AX, K3; \
	LEAQ 1(CX)(CX*1), CX; \
	ONES(AX); \
	KMOVW AX, K1; \
	SHRQ $16, AX; \
	KMOVW AX, K2

// Macros shared by the AVX2 kernels of this package.

// HSUMPD4 adds the four float64 lanes of y (whose low half is x) into the
// low lane of x; xt is scratch.
#define HSUMPD4(y, x, xt) \
	VEXTRACTF128 $1, y, xt; \
	VADDPD xt, x, x; \
	VPERMILPD $1, x, xt; \
	VADDSD xt, x, x

// STORE7 stores the low n&7 float32 lanes of y (whose low half is x) at
// d(p), with no write past them; it clobbers y and t. l2, l1 and ldone are
// labels unique to the call.
#define STORE7(y, x, n, d, p, t, l2, l1, ldone) \
	XORQ t, t; \
	TESTQ $4, n; \
	JZ l2; \
	VMOVUPS x, d(p); \
	VEXTRACTF128 $1, y, x; \
	MOVQ $4, t; \
l2: \
	TESTQ $2, n; \
	JZ l1; \
	VMOVLPS x, d(p)(t*4); \
	VMOVHLPS x, x, x; \
	ADDQ $2, t; \
l1: \
	TESTQ $1, n; \
	JZ ldone; \
	VMOVSS x, d(p)(t*4); \
ldone:
