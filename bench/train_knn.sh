#!/bin/sh
# Weighted kNN-200 accuracy (test set) of a train checkpoint's backbone features.
#
# Usage: bench/train_knn.sh MODEL [LAYER]      (LAYER: backbone (default), projector, predictor)
#
# Embeds the FashionMNIST train and test splits with stages/embed under MODEL
# and scores them with stages/eval (l2-normalised features, cosine similarity
# to all train features, top 200, weights exp(sim/0.1)). Prints "MODEL LAYER top1".
set -eu
model=$1
layer=${2:-backbone}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/" ./stages/fetch ./stages/embed ./stages/eval)
"$tmp/fetch" --split train --quiet | "$tmp/embed" --model "$model" --layer "$layer" --quiet > "$tmp/train.arrows"
"$tmp/fetch" --split test --quiet | "$tmp/embed" --model "$model" --layer "$layer" --quiet > "$tmp/test.arrows"
top1=$("$tmp/eval" --train "$tmp/train.arrows" --test "$tmp/test.arrows" --label-fraction "" --quiet |
	sed -n 's/.*"knn": *{[^}]*"top1": *\([0-9.]*\).*/\1/p')
echo "$model $layer $top1"
