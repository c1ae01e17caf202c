#!/bin/sh
# Training-step speed of stages/train against PyTorch, side by side.
#
# Usage: bench/train.sh [rounds] [arch]     (defaults: 3 rounds, seed)
#
# Each round runs our step benchmark (internal/simsiam BenchmarkTrainStep,
# OpenBLAS build, batch 256, two views, forward + backward + SGD) and then
# bench/train_torch.py on the same model and batch, both on one thread
# (GOMAXPROCS=1, OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1)).
# Prints wall ms/step, CPU ms/step and peak RSS of each, then the ratios.
set -eu
cd "$(dirname "$0")/.."
rounds=${1:-3}
arch=${2:-seed}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -tags openblas -o "$tmp/simsiam.test" ./internal/simsiam
export OPENBLAS_NUM_THREADS=1 GOMAXPROCS=1 OMP_NUM_THREADS=1
echo "machine: $(getconf _NPROCESSORS_ONLN) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
i=1
while [ "$i" -le "$rounds" ]; do
	(cd internal/simsiam && "$tmp/simsiam.test" -test.run '^$' -test.bench "TrainStep/$arch\$" -test.benchtime 20x) |
		awk '/ms\/step/ { for (i = 1; i <= NF; i++) { if ($(i+1) == "ms/step") w = $i; if ($(i+1) == "cpu-ms/step") c = $i; if ($(i+1) == "peak-MiB") m = $i }
			printf "go    %s batch 256: %s ms/step, %s cpu-ms/step, peak RSS %s MiB\n", "'"$arch"'", w, c, m }' | tee -a "$tmp/go"
	/usr/bin/python3 bench/train_torch.py --arch "$arch" --steps 20 | tee -a "$tmp/torch"
	i=$((i + 1))
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '{ for (i = 1; i <= NF; i++) { if ($(i+1) == "ms/step,") w += $i; if ($(i+1) ~ /^cpu-ms\/step/) c += $i } n++ }
	END { printf "%s %.1f %.1f\n", FILENAME, w / n, c / n }' "$tmp/go" > "$tmp/g.sum"
awk '{ for (i = 1; i <= NF; i++) { if ($(i+1) == "ms/step,") w += $i; if ($(i+1) ~ /^cpu-ms\/step/) c += $i } n++ }
	END { printf "%s %.1f %.1f\n", FILENAME, w / n, c / n }' "$tmp/torch" > "$tmp/t.sum"
read -r _ gw gc < "$tmp/g.sum"
read -r _ tw tc < "$tmp/t.sum"
awk -v gw="$gw" -v gc="$gc" -v tw="$tw" -v tc="$tc" 'BEGIN {
	printf "mean over rounds: go %.1f ms (%.1f cpu-ms), torch %.1f ms (%.1f cpu-ms)\n", gw, gc, tw, tc
	printf "ratio go/torch: %.2fx wall, %.2fx cpu\n", gw / tw, gc / tc }'
