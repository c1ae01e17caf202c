#!/bin/sh
# bench/augment.sh: views/s of siampipe's augment against torchvision's
# RandAugment (num_ops 5, magnitude 9) on the same real FashionMNIST training
# images, side by side in one run, interleaved in ROUNDS rounds so that both
# see the same machine load. Run from the repository root:
#
#     sh bench/augment.sh [IMAGES] [ROUNDS]      (defaults 5000, 3)
#
# augment is timed end to end as a stage: reading the images stream, making
# two views of every image per epoch on all cores, writing the Arrow pairs
# stream into a pipe. torchvision is timed applying RandAugment to one image
# tensor at a time (how a Dataset transform runs), in one process and in two
# (one per core, as DataLoader num_workers=2). Besides views per second of
# wall time, it reports views per CPU second (user+sys), which other jobs on
# a shared machine disturb much less.
set -eu
N=${1:-5000}
ROUNDS=${2:-3}
EPOCHS=20
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

go build -o "$tmp/fetch" ./stages/fetch
go build -o "$tmp/augment" ./stages/augment
"$tmp/fetch" --split train --limit "$N" --quiet > "$tmp/images.arrows"

field() { sed "s/.*\"$1\": \([0-9.]*\).*/\1/"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$(/usr/bin/python3 -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__)'), $(go version)"
echo "images: first $N FashionMNIST train images; augment --epochs $EPOCHS --num-ops 5 --magnitude 9 (2 views per image per epoch)"
echo
echo "| round | augment views/s | torchvision 1 proc | torchvision 2 procs | ratio vs 1 proc | ratio vs 2 procs | augment views/CPU-s | torchvision views/CPU-s | CPU ratio |"
echo "|---|---|---|---|---|---|---|---|---|"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    tv1=$(/usr/bin/python3 bench/augment_torchvision.py --images "$N" --procs 1)
    /usr/bin/time -f "%e %U %S" -o "$tmp/time" \
        "$tmp/augment" -i "$tmp/images.arrows" --epochs "$EPOCHS" --num-ops 5 --magnitude 9 --seed "$r" --quiet |
        cat > /dev/null
    tv2=$(/usr/bin/python3 bench/augment_torchvision.py --images "$N" --procs 2)
    echo "$r $N $EPOCHS $(cat "$tmp/time") $(echo "$tv1" | field views_per_s) $(echo "$tv2" | field views_per_s) $(echo "$tv1" | field views_per_cpu_s)" |
        awk '{v = 2*$2*$3; g = v/$4; gc = v/($5+$6);
              printf "| %d | %.0f | %.0f | %.0f | %.1fx | %.1fx | %.0f | %.0f | %.1fx |\n", $1, g, $7, $8, g/$7, g/$8, gc, $9, gc/$9}'
    r=$((r + 1))
done
echo
echo "go test -bench (internal/augment: all cores, in-memory sink; internal/randaug: one goroutine):"
go test -run '^$' -bench 'BenchmarkAugment$' -benchtime 3x ./internal/augment | grep Benchmark
go test -run '^$' -bench 'BenchmarkAugment$' ./internal/randaug | grep Benchmark
