#!/usr/bin/env bash
# Reading a folder of PNG files: `fetch --folder` (Go, all cores) against PIL
# on as many processes (bench/fetch_folder_pil.py), over FashionMNIST's train
# split exported once as 60000 28x28 PNGs (tests/data/fmnist_png.py).
#
# Usage: bash bench/fetch_folder.sh
#   CACHE=DIR   where the exported tree is kept between runs
#               (default ${TMPDIR:-/tmp}/siampipe-bench/fmnist-png)
#   PROCS=N     PIL processes (default: nproc, the cores fetch uses)
#   RUNS=N      timed runs of each (default 5)
# Needs python3-pil, dataset-fashion-mnist and hyperfine from Debian; without
# hyperfine each command is timed with bash's `time` instead.
set -euo pipefail
cd "$(dirname "$0")/.."

cache=${CACHE:-${TMPDIR:-/tmp}/siampipe-bench/fmnist-png}
procs=${PROCS:-$(nproc)}
runs=${RUNS:-5}

grep -m1 'model name' /proc/cpuinfo || true
echo "cores: $(nproc), PIL processes: $procs"

if [ ! -d "$cache/train" ]; then
  mkdir -p "$(dirname "$cache")"
  rm -rf "$cache"
  echo "exporting FashionMNIST to $cache (once) ..."
  /usr/bin/python3 tests/data/fmnist_png.py "$cache"
fi
echo "$(find "$cache/train" -type f | wc -l) files in $cache/train"

mkdir -p bin
go build -o bin/fetch ./stages/fetch
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

fetch_cmd="bin/fetch --folder $cache/train --quiet -o $out/train.arrow"
pil_cmd="/usr/bin/python3 bench/fetch_folder_pil.py $cache/train --procs $procs"
if command -v hyperfine > /dev/null; then
  hyperfine --warmup 1 --runs "$runs" -n 'fetch --folder' "$fetch_cmd" -n "PIL x$procs" "$pil_cmd"
else
  for i in $(seq "$runs"); do
    echo "run $i: fetch --folder"; time $fetch_cmd
    echo "run $i: PIL x$procs"; time $pil_cmd
  done
fi
