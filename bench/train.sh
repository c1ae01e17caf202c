#!/bin/sh
# Training-step speed of the plain `go build` trainer against PyTorch, side
# by side on this machine, in one run.
#
# Usage: bench/train.sh [rounds] [steps]      (defaults: 3 rounds of 20 steps)
#
# Ours: internal/simsiam's BenchmarkTrainStep (batch 256, two views, forward +
# backward + SGD), compiled as `go test -c` does with no build tags and no cgo
# (the code `go build ./stages/train` runs), at GOMAXPROCS 1 and 2, at the best
# SIMD level this CPU has and with SIAMPIPE_SIMD=avx2 (the kernels of a CPU
# without AVX-512); and, where libopenblas-dev is installed, the comparison
# build `-tags openblas` (cgo, OpenBLAS sgemm; level "openblas", the vector
# kernels at the best level). PyTorch: bench/train_torch.py on the same models at 1 and
# 2 threads, run at its best here: OpenBLAS (its linear layers) told the best
# kernels this CPU runs (Debian's 0.3.21 misreads some CPUs and falls back to
# SSE3), ATen's AVX-512 kernels where the CPU has them, oneDNN convolutions.
# Every figure is the median step after three warm-up steps; the rounds
# alternate ours and PyTorch's, and the summary takes the median over rounds.
set -eu
cd "$(dirname "$0")/.."
rounds=${1:-3}
steps=${2:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

CGO_ENABLED=0 go test -c -o "$tmp/simsiam.test" ./internal/simsiam
blas=""
if CGO_ENABLED=1 go test -tags openblas -c -o "$tmp/simsiam-openblas.test" ./internal/simsiam 2>/dev/null; then
	blas=openblas
fi
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
best=generic
grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && best=avx2
grep -qw avx512f /proc/cpuinfo && grep -qw avx512vl /proc/cpuinfo && best=avx512
levels=$best
[ "$best" = avx512 ] && levels="avx512 avx2"
# The OpenBLAS kernels this CPU runs best, for PyTorch's linear layers.
core=$(cd internal/openblas && go test -tags openblas -run TestCore -v . 2>/dev/null | sed -n 's/.*OpenBLAS core \([A-Za-z0-9_]*\),.*/\1/p')
aten=""
[ "$best" = avx512 ] && aten=avx512
echo "cpu: $model; $(getconf _NPROCESSORS_ONLN) cores; SIMD level $best; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "torch: $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'); OPENBLAS_CORETYPE=${core:-unset} ATEN_CPU_CAPABILITY=${aten:-default}"

# Each run appends "impl arch cores level ms/step cpu-ms/step peak-MiB" to
# $tmp/all and prints it.
ours() { # arch cores level (avx512, avx2, generic, or openblas for that build)
	bin=$tmp/simsiam.test simd=$3
	if [ "$3" = openblas ]; then bin=$tmp/simsiam-openblas.test simd=$best; fi
	(cd internal/simsiam && GOMAXPROCS=$2 SIAMPIPE_SIMD=$simd "$bin" -test.run '^$' \
		-test.bench "TrainStep/$1\$" -test.benchtime "${steps}x" -test.v) >"$tmp/out"
	sed -n 's/.*kernels: /ours: kernels: /p' "$tmp/out" | head -1 >>"$tmp/kernels"
	awk -v a="$1" -v p="$2" -v l="$3" '/median-ms\/step/ {
		for (i = 1; i <= NF; i++) { if ($(i+1) == "median-ms/step") w = $i; if ($(i+1) == "cpu-ms/step") c = $i; if ($(i+1) == "peak-MiB") m = $i }
		print "go", a, p, l, w, c, m }' "$tmp/out" | tee -a "$tmp/all"
}
torch() { # arch threads
	OPENBLAS_NUM_THREADS=$2 OMP_NUM_THREADS=$2 OPENBLAS_CORETYPE=$core ATEN_CPU_CAPABILITY=$aten \
		/usr/bin/python3 bench/train_torch.py --arch "$1" --steps "$steps" --threads "$2" |
		awk -v a="$1" -v p="$2" '{ for (i = 1; i <= NF; i++) { if ($(i+1) == "ms/step") w = $i; if ($(i+1) == "cpu-ms/step,") c = $i; if ($(i+1) == "MiB") m = $i }
			print "torch", a, p, "-", w, c, m }' | tee -a "$tmp/all"
}

echo "impl arch cores level ms/step cpu-ms/step peak-MiB"
r=1
while [ "$r" -le "$rounds" ]; do
	echo "round $r"
	for arch in seed simsiam; do
		for p in 1 2; do
			for l in $levels $blas; do ours $arch $p $l; done
			torch $arch $p
		done
	done
	r=$((r + 1))
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
sort -u "$tmp/kernels"
echo "medians over $rounds rounds (ms/step):"
sort -k1,4 -k5,5n "$tmp/all" | awk '
	function flush() { if (n) printf "%s %.1f\n", key, (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
	{ k = $1 " " $2 " " $3 " " $4; if (k != key) { flush(); key = k; n = 0 } v[++n] = $5 }
	END { flush() }' | tee "$tmp/med"
echo
echo "ratios: ours on 2 cores / PyTorch on 2 threads (goal <= 0.5 at the best level, <= 1.0 at avx2); ours 1 -> 2 cores (goal >= 1.7x):"
awk '{ m[$1 " " $2 " " $3 " " $4] = $5 }
	END { for (k in m) { split(k, f, " "); if (f[1] != "go" || f[3] != 2) continue
		t2 = m["torch " f[2] " 2 -"]; one = m["go " f[2] " 1 " f[4]]
		printf "%-7s %-6s ours %.1f ms, torch %.1f ms: %.2fx; two cores %.2fx one core'"'"'s speed\n", f[2], f[4], m[k], t2, m[k] / t2, one / m[k] } }' "$tmp/med" | sort
