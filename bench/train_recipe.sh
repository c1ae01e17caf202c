#!/bin/sh
# One recipe measurement: augment + train on FashionMNIST, then kNN-200.
#
# Usage: bench/train_recipe.sh OUTDIR EPOCHS "AUGMENT FLAGS" "TRAIN FLAGS"
# e.g.   bench/train_recipe.sh runs/seed 6 "--num-ops 2 --seed 1" "--arch seed"
#
# Writes OUTDIR/model.arrows, OUTDIR/metrics.jsonl, OUTDIR/train.log and
# prints the kNN line of bench/train_knn.sh. Uses the plain build (no cgo),
# as pipeline.sh does.
set -eu
out=$1 epochs=$2 aug=$3 tr=$4
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
(cd "$root" && CGO_ENABLED=0 go build -o "$out/" ./stages/fetch ./stages/augment ./stages/train)
# shellcheck disable=SC2086
"$out/fetch" --split train --quiet | "$out/augment" --epochs "$epochs" $aug --quiet |
	"$out/train" $tr --checkpoint-dir "$out/ck" --metrics "$out/metrics.jsonl" --log-every 20 -o "$out/model.arrows" 2> "$out/train.log"
"$root/bench/train_knn.sh" "$out/model.arrows"
