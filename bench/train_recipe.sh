#!/bin/sh
# One recipe measurement: augment + train on FashionMNIST, then kNN-200.
#
# Usage: bench/train_recipe.sh OUTDIR EPOCHS "AUGMENT FLAGS" "TRAIN FLAGS"
# e.g.   bench/train_recipe.sh runs/seed 6 "--num-ops 2 --seed 1" "--arch seed"
#
# Writes OUTDIR/model.arrows, OUTDIR/metrics.jsonl (with the kNN monitor's
# curve: the test split against 5,000 train images, every
# MONITOR_EVERY epochs, default 5), OUTDIR/train.log and prints the kNN line
# of bench/train_knn.sh (against all 60,000 train images). Uses the plain
# build (no cgo), as pipeline.sh does.
set -eu
out=$1 epochs=$2 aug=$3 tr=$4
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
(cd "$root" && CGO_ENABLED=0 go build -o "$out/" ./stages/fetch ./stages/augment ./stages/train)
"$out/fetch" --split train --quiet -o "$out/train-images.arrows"
"$out/fetch" --split test --quiet -o "$out/test-images.arrows"
start=$(date +%s)
# shellcheck disable=SC2086
"$out/augment" --epochs "$epochs" $aug --quiet -i "$out/train-images.arrows" |
	"$out/train" $tr --checkpoint-dir "$out/ck" --metrics "$out/metrics.jsonl" --log-every 20 \
		--monitor "$out/test-images.arrows" --monitor-bank "$out/train-images.arrows" \
		--monitor-bank-size 5000 --monitor-every "${MONITOR_EVERY:-5}" -o "$out/model.arrows" 2> "$out/train.log"
echo "$out: train took $(($(date +%s) - start)) s; monitor: $(grep -o '"knn":[0-9.]*' "$out/metrics.jsonl" | cut -d: -f2 | tr '\n' ' ')"
"$root/bench/train_knn.sh" "$out/model.arrows"
