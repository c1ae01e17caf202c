#!/usr/bin/env bash
# Decoding the FashionMNIST train split: fetch (to /dev/null) against Python's
# gzip + numpy reading the same files, side by side in one hyperfine run.
# Usage: bash bench/fetch.sh   (needs hyperfine and python3-numpy from Debian)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
go build -o bin/fetch ./stages/fetch
hyperfine --warmup 2 --runs "${RUNS:-15}" --export-markdown bench/fetch-results.md \
  -n fetch 'bin/fetch --split train --quiet > /dev/null' \
  -n 'python gzip+numpy' '/usr/bin/python3 bench/fetch_numpy.py'
