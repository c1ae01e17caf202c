#!/bin/sh
# bench/embed.sh: images/s of the embed stage against PyTorch's eval-mode
# forward (torch.no_grad) of the same model with the same weights, side by
# side in one run, on the 10,000 FashionMNIST test images; all cores and one
# thread each. Also checks embed's features against PyTorch's outputs.
#
#   bench/embed.sh [REPEATS] [BATCH]     (defaults 5 and 256)
#
# Each configuration runs REPEATS times, PyTorch and embed alternating, and
# keeps each side's best pass, by wall clock and per CPU second (user + system
# time of all the process's threads; on a shared, loaded machine the CPU
# time of a one-thread run is the steadier measure). embed is timed end to
# end as a user runs it (process start, checkpoint and images read from
# files, features written to a pipe); PyTorch only around its forward passes
# over a tensor already in memory.
set -eu
REPEATS=${1:-5}
BATCH=${2:-256}
cd "$(dirname "$0")/.."
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
trap 'exit 130' INT TERM
go build -o "$W/embed" ./stages/embed
go build -o "$W/fetch" ./stages/fetch
"$W/fetch" --quiet --split test -o "$W/test.arrows"
CORES=$(nproc)

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $CORES cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(go version | cut -d' ' -f3), $(/usr/bin/python3 -c 'import torch; print("torch", torch.__version__)'), batch $BATCH, best of $REPEATS"
printf '| arch | layer | threads | PyTorch images/s | embed images/s | embed / PyTorch | PyTorch images/CPU-s | embed images/CPU-s | embed / PyTorch | max rel. diff |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for arch in seed simsiam; do
	/usr/bin/python3 bench/embed_torch.py weights "$arch" 1 "$W/$arch"
	go run bench/embed_ckpt.go ckpt "$W/$arch" "$W/$arch.arrows"
	for layer in backbone predictor; do
		for threads in "$CORES" 1; do
			torch=0
			torchcpu=0
			embed=0
			embedcpu=0
			i=0
			while [ "$i" -lt "$REPEATS" ]; do
				set -- $(/usr/bin/python3 bench/embed_torch.py bench "$arch" 1 "$layer" "$BATCH" "$threads" 1 "$W/torch.bin")
				[ "$1" -gt "$torch" ] && torch=$1
				[ "$2" -gt "$torchcpu" ] && torchcpu=$2
				GOMAXPROCS=$threads /usr/bin/time -f '%e %U %S' -o "$W/time" "$W/embed" --quiet --model "$W/$arch.arrows" \
					--layer "$layer" --batch-size "$BATCH" -i "$W/test.arrows" | cat >"$W/features.arrows"
				set -- $(awk '{printf "%.0f %.0f", 10000 / $1, 10000 / ($2 + $3)}' "$W/time")
				[ "$1" -gt "$embed" ] && embed=$1
				[ "$2" -gt "$embedcpu" ] && embedcpu=$2
				i=$((i + 1))
			done
			diff=$(go run bench/embed_ckpt.go compare "$W/features.arrows" "$W/torch.bin" | cut -d' ' -f1)
			ratio=$(echo "$embed $torch" | awk '{printf "%.2f", $1 / $2}')
			cpuratio=$(echo "$embedcpu $torchcpu" | awk '{printf "%.2f", $1 / $2}')
			printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$arch" "$layer" "$threads" \
				"$torch" "$embed" "$ratio" "$torchcpu" "$embedcpu" "$cpuratio" "$diff"
		done
	done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
