#!/bin/sh
# Training-step speed of stages/train against PyTorch, side by side.
#
# Usage: bench/train.sh [rounds] [arch]     (defaults: 3 rounds, seed)
#
# Each round runs, one after the other: our step benchmark
# (internal/simsiam BenchmarkTrainStep, OpenBLAS build, batch 256, two
# views, forward + backward + SGD), then bench/train_torch.py on the same
# model and batch as installed ("torch"), then the same with
# OPENBLAS_CORETYPE set to the kernels this CPU runs best ("torch+": Debian's
# OpenBLAS 0.3.21 falls back to SSE kernels on CPUs it does not know, which
# slows PyTorch's linear layers; its convolutions are oneDNN's and unaffected).
# All on one thread (GOMAXPROCS=1, OPENBLAS_NUM_THREADS=1,
# torch.set_num_threads(1)). Prints wall ms/step, CPU ms/step and peak RSS of
# each, then the ratios.
set -eu
cd "$(dirname "$0")/.."
rounds=${1:-3}
arch=${2:-seed}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -tags openblas -o "$tmp/simsiam.test" ./internal/simsiam
export OPENBLAS_NUM_THREADS=1 GOMAXPROCS=1 OMP_NUM_THREADS=1
core=$(cd internal/openblas && go test -tags openblas -run TestCore -v . 2>/dev/null | sed -n 's/.*OpenBLAS core \([A-Za-z0-9_]*\),.*/\1/p')
echo "machine: $(getconf _NPROCESSORS_ONLN) cores, load $(cut -d' ' -f1-3 /proc/loadavg); best OpenBLAS kernels here: ${core:-unknown}"
i=1
while [ "$i" -le "$rounds" ]; do
	(cd internal/simsiam && "$tmp/simsiam.test" -test.run '^$' -test.bench "TrainStep/$arch\$" -test.benchtime 20x) |
		awk '/ms\/step/ { for (i = 1; i <= NF; i++) { if ($(i+1) == "ms/step") w = $i; if ($(i+1) == "cpu-ms/step") c = $i; if ($(i+1) == "peak-MiB") m = $i }
			printf "go     %s batch 256: %s ms/step, %s cpu-ms/step, peak RSS %s MiB\n", "'"$arch"'", w, c, m }' | tee -a "$tmp/go"
	(unset OPENBLAS_CORETYPE; /usr/bin/python3 bench/train_torch.py --arch "$arch" --steps 20) | tee -a "$tmp/torch"
	if [ -n "$core" ]; then
		OPENBLAS_CORETYPE=$core /usr/bin/python3 bench/train_torch.py --arch "$arch" --steps 20 | sed 's/^torch /torch+/' | tee -a "$tmp/torchplus"
	fi
	i=$((i + 1))
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
mean() {
	awk '{ for (i = 1; i <= NF; i++) { if ($(i+1) == "ms/step,") w += $i; if ($(i+1) ~ /^cpu-ms\/step/) c += $i } n++ }
		END { if (n) printf "%.1f %.1f\n", w / n, c / n }' "$1"
}
read -r gw gc <<EOT
$(mean "$tmp/go")
EOT
for ref in torch torchplus; do
	[ -s "$tmp/$ref" ] || continue
	read -r tw tc <<EOT
$(mean "$tmp/$ref")
EOT
	name=$ref; [ "$ref" = torchplus ] && name="torch+"
	awk -v n="$name" -v gw="$gw" -v gc="$gc" -v tw="$tw" -v tc="$tc" 'BEGIN {
		printf "mean over rounds: go %.1f ms (%.1f cpu-ms), %s %.1f ms (%.1f cpu-ms): ratio go/%s %.2fx wall, %.2fx cpu\n", gw, gc, n, tw, tc, n, gw / tw, gc / tc }'
done
