#!/bin/sh
# Benchmark the reduce stage (UMAP in Go) against umap-learn on the same features.
#
#   bench/reduce.sh [FEATURES.arrows ...]
#
# Each argument is a features (or images) stream, for example the embed stage's output for the
# 10,000 test images or all 70,000 train+test images of a trained model. With no arguments it
# builds stand-ins from /usr/share/datasets/fashion-mnist: the test-set pixels (10,000 x 784),
# a synthetic 2048-d stand-in for test-set features (relu of a fixed random projection of the
# pixels), and all 70,000 train+test pixels (ALL_SYNTH=1 adds a 70,000 x 2048 stand-in).
# METRIC (default cosine, the stage's default) sets the metric on both sides.
# Runs one after the other on this machine: reduce, then umap-learn (bench/reduce_umap.py),
# and prints a markdown table (wall and CPU seconds: the machine is shared, so CPU time is the
# steadier measure; the goal is on wall time); JSON lines go to $REDUCE_BENCH_DIR/results.jsonl.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=${REDUCE_BENCH_DIR:-$(mktemp -d)}
metric=${METRIC:-cosine}
mkdir -p "$work"
cd "$root"
go build -o "$work/reduce" ./stages/reduce
go build -o "$work/reducetool" ./bench/reducetool
if [ $# -eq 0 ]; then
	"$work/reducetool" pixels -split test -o "$work/test_pixels.arrows"
	"$work/reducetool" synth -split test -o "$work/test_synth2048.arrows"
	"$work/reducetool" pixels -split all -o "$work/all_pixels.arrows"
	set -- "$work/test_pixels.arrows" "$work/test_synth2048.arrows" "$work/all_pixels.arrows"
	if [ "${ALL_SYNTH:-0}" = 1 ]; then
		"$work/reducetool" synth -split all -o "$work/all_synth2048.arrows"
		set -- "$@" "$work/all_synth2048.arrows"
	fi
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "metric $metric; reduce --seed 0 (defaults otherwise); umap-learn with the same settings"
echo
echo "| data | n x dim | implementation | wall s | CPU s | trustworthiness | 5-NN acc | wall ratio | CPU ratio | d trust | d 5-NN |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for f in "$@"; do
	name=$(basename "$f" .arrows)
	"$work/reducetool" npy -i "$f" -o "$work/$name"
	/usr/bin/time -f "%e %U %S" -o "$work/$name.time" \
		"$work/reduce" -i "$f" -o "$work/$name.coords.arrows" --metric "$metric" --seed 0 2>"$work/$name.reduce.log"
	read -r wall user sys <"$work/$name.time"
	"$work/reducetool" npy -i "$work/$name.coords.arrows" -o "$work/$name.ours"
	/usr/bin/python3 bench/reduce_umap.py --name "$name" --data "$work/$name" --metric "$metric" \
		--ours "$work/$name.ours.X.npy" --ours-seconds "$wall" --ours-cpu "$(awk "BEGIN{print $user + $sys}")" \
		--json "$work/results.jsonl" 2>"$work/$name.umap.log" ||
		echo "| $name | umap-learn side or quality measures failed: see $work/$name.umap.log |"
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); logs and coords in $work"
