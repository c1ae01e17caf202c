#!/usr/bin/env bash
# Raw-pixel baseline of eval (train 60k vs test 10k FashionMNIST, pixels/255
# as features) against numpy + scikit-learn doing the same on the same
# machine, one after the other in one run; writes bench/eval.md.
# Usage: bash bench/eval.sh   (needs Debian python3-numpy, python3-sklearn)
# Env: FRACTIONS (default 0.01,0.1,1.0), SKIP_REF=1 to run eval only.
set -euo pipefail
cd "$(dirname "$0")/.."
fractions=${FRACTIONS:-0.01,0.1,1.0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p bin
go build -o bin/fetch ./stages/fetch
go build -o bin/eval ./stages/eval
bin/fetch --split train --quiet -o "$tmp/train.arrows"
bin/fetch --split test --quiet -o "$tmp/test.arrows"

start=$(date +%s.%N)
bin/eval --train "$tmp/train.arrows" --test "$tmp/test.arrows" --label-fraction "$fractions" \
  -o "$tmp/go.json" 2> "$tmp/go.log"
go_wall=$(echo "$(date +%s.%N) - $start" | bc)
cat "$tmp/go.log" >&2

ref_wall=0
if [ -z "${SKIP_REF:-}" ]; then
  start=$(date +%s.%N)
  /usr/bin/python3 bench/eval_reference.py --fractions "$fractions" > "$tmp/ref.json"
  ref_wall=$(echo "$(date +%s.%N) - $start" | bc)
else
  echo '{"knn": {}, "linear": []}' > "$tmp/ref.json"
fi

/usr/bin/python3 - "$tmp/go.json" "$tmp/ref.json" "$go_wall" "$ref_wall" "$(nproc)" "$(uptime)" > bench/eval.md <<'PY'
import json, sys
go, ref = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
go_wall, ref_wall, cores, up = float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
t = go["timings"]
print("# eval: raw-pixel baseline, siampipe vs numpy/scikit-learn\n")
print(f"FashionMNIST, train 60,000 vs test 10,000, pixels/255 as 784-d features; {cores} cores; "
      f"load at the end: `{up.strip()}`. Produced by `bash bench/eval.sh`.\n")
print("| | siampipe eval | numpy / scikit-learn | time ratio (ref / eval) |")
print("|---|---|---|---|")
rk = ref.get("knn", {})
def ratio(a, b):
    return f"{b / a:.2f}" if a and b else "-"
print(f"| weighted kNN (k=200, t=0.1) top-1 | {go['knn']['top1']:.4f} | {rk.get('top1', float('nan')):.4f} | |")
print(f"| kNN wall time (s) | {t['knn_s']:.1f} | {rk.get('seconds', 0):.1f} (matrix products {rk.get('matmul_seconds', 0):.1f}) | {ratio(t['knn_s'], rk.get('seconds'))} |")
refl = {round(l["label_fraction"], 6): l for l in ref.get("linear", [])}
for l, s in zip(go["linear"], t["linear_s"]):
    r = refl.get(round(l["label_fraction"], 6), {})
    f = 100 * l["label_fraction"]
    print(f"| linear probe {f:g}% ({l['n_train']} rows) top-1 | {l['top1']:.4f} ({l['iterations']} it.) | "
          f"{r.get('top1', float('nan')):.4f} ({r.get('iterations', '-')} it.) | |")
    print(f"| linear probe {f:g}% wall time (s) | {s:.1f} | {r.get('seconds', 0):.1f} | {ratio(s, r.get('seconds'))} |")
print(f"| whole run, wall (s) | {go_wall:.1f} (read {t['read_s']:.1f}) | {ref_wall:.1f} | {ratio(go_wall, ref_wall)} |")
print("\nThe probes train on different stratified subsets in the two columns (each side's own seeded "
      "sampler), so their accuracies at 1% and 10% differ by sampling; at 100% both solve the same "
      "problem (C=1, tol 1e-4, at most 100 iterations: scikit-learn's defaults). numpy's matrix products use its BLAS on all cores.")
PY
{
  echo
  echo "## Micro-benchmarks (go test -bench, same run)"
  echo
  echo "kNN: 512 test x 8192 train rows, k=200 (default kernel: AVX-512 where the CPU has it; AVX2; portable"
  echo "gonum blas32 path). Probe: 6000 x 784 rows, 10 classes, 20 L-BFGS iterations."
  echo
  echo '```'
  go test -run XXX -bench 'Predict' -benchtime 3x ./internal/knn | grep Benchmark
  go test -run XXX -bench 'Train' -benchtime 3x ./internal/probe | grep Benchmark
  echo '```'
} >> bench/eval.md
cat bench/eval.md
