#!/usr/bin/env bash
# pipeline.sh: the whole article in one command, cached.
#
#   fetch(train) | augment | train                      -> model
#   fetch(train), fetch(test) | embed                   -> features
#   eval(train features, test features)                 -> out/report.json
#   reduce(test features)                               -> out/coords.arrows
#   plot                                                -> out/umap.png, out/umap.html, out/loss.png
#
# Every stage output is kept in the cache folder under a key: a digest of the
# stage binary, its arguments and the keys of its inputs. A second run with
# nothing changed reuses everything; changing --epochs reruns train and what
# follows, not fetch. Entries appear atomically (stages write to a temporary
# file and rename), and a lock keeps two runs from sharing a cache at once.
#
# Flags (each also as an environment variable, e.g. SIAMPIPE_EPOCHS=20):
#   --epochs N       training epochs (default 20: about 20 minutes on 2 cores)
#   --batch-size N   pairs per step (default 256)
#   --limit N        use only the first N images of each split (a smoke run)
#   --seed N         seed of every random stage (default 0)
#   --arch A         seed | simsiam (default: train's default)
#   --out DIR        outputs and logs (default out/)
#   --cache DIR      cached intermediates (default .cache/)
#   --force          recompute every stage
#   --smoke          a quick run for CI: --limit 2000 --epochs 1 unless given
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

epochs=${SIAMPIPE_EPOCHS:-}
batch=${SIAMPIPE_BATCH_SIZE:-256}
limit=${SIAMPIPE_LIMIT:-0}
seed=${SIAMPIPE_SEED:-0}
arch=${SIAMPIPE_ARCH:-}
out=${SIAMPIPE_OUT:-out}
cache=${SIAMPIPE_CACHE:-.cache}
force=${SIAMPIPE_FORCE:-0}
smoke=${SIAMPIPE_SMOKE:-0}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "$(date -u +%FT%TZ) pipeline: $*" >&2; exit 1; }
log() { echo "$(date -u +%FT%TZ) pipeline: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) epochs=${2:?--epochs needs a value}; shift 2 ;;
    --batch-size) batch=${2:?--batch-size needs a value}; shift 2 ;;
    --limit) limit=${2:?--limit needs a value}; shift 2 ;;
    --seed) seed=${2:?--seed needs a value}; shift 2 ;;
    --arch) arch=${2:?--arch needs a value}; shift 2 ;;
    --out) out=${2:?--out needs a value}; shift 2 ;;
    --cache) cache=${2:?--cache needs a value}; shift 2 ;;
    --force) force=1; shift ;;
    --smoke) smoke=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "pipeline: unknown argument $1 (see ./pipeline.sh --help)" >&2; exit 2 ;;
  esac
done
if [ "$smoke" = 1 ]; then
  [ "$limit" != 0 ] || limit=2000
  [ -n "$epochs" ] || epochs=1
fi
epochs=${epochs:-20}
for v in epochs batch limit seed; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "pipeline: --${v/batch/batch-size} ${!v}: want a whole number" >&2; exit 2; }
done

mkdir -p "$out/logs" "$cache"
out=$(cd "$out" && pwd)
cache=$(cd "$cache" && pwd)

# One run per cache at a time.
exec 9>"$cache/.lock"
if ! flock -n 9; then
  log "another pipeline run holds $cache/.lock; waiting for it"
  flock 9
fi

# Data: the Debian package, or whatever fetch finds (--dir, SIAMPIPE_DATA, cache).
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ -z "${SIAMPIPE_DATA:-}" ] \
   && [ ! -f "${XDG_CACHE_HOME:-$HOME/.cache}/siampipe/fashion-mnist/train-images-idx3-ubyte.gz" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    log "installing the data set: apt-get install dataset-fashion-mnist"
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null
  else
    die "FashionMNIST not found: run 'sudo apt-get install dataset-fashion-mnist' (or 'bin/fetch --download')"
  fi
fi

# Build the stages into bin/, only when their sources changed. -trimpath and
# -buildvcs=false make the binaries reproducible, so a binary's digest is the
# version of its code that cache keys use.
stages=(fetch augment train embed eval reduce plot)
bin="$root/bin"
stamp=$(cd "$root" && cat go.mod go.sum $(find internal stages -name '*.go' -o -name '*.c' -o -name '*.h' | LC_ALL=C sort) | sha256sum | cut -c1-16)
# train links OpenBLAS when it is there (2-3x faster steps); everything else
# is pure Go (embed, eval and reduce carry their own SIMD kernels).
have_openblas() { echo 'int main(void){return 0;}' | gcc -x c - -lopenblas -o /dev/null 2>/dev/null; }
if ! have_openblas && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  log "installing libopenblas-dev for a faster train"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q libopenblas-dev >/dev/null 2>&1 || true
fi
tags=""
have_openblas && tags="openblas"
stamp="$stamp-$tags"
if [ "$(cat "$bin/.stamp" 2>/dev/null)" != "$stamp" ] || ! [ -x "$bin/plot" ]; then
  log "building ${stages[*]} into $bin${tags:+ (train with -tags $tags)}"
  (cd "$root" && mkdir -p "$bin" \
    && go build -trimpath -buildvcs=false -o "$bin/" $(printf './stages/%s ' "${stages[@]}") \
    && go build -trimpath -buildvcs=false -tags "$tags" -o "$bin/train" ./stages/train) \
    || die "build failed (is Go 1.26 installed?)"
  echo "$stamp" >"$bin/.stamp"
fi
declare -A ver
for s in "${stages[@]}"; do ver[$s]=$(sha256sum "$bin/$s" | cut -c1-16); done

key() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }

declare -A took
# run NAME OUTPUT CMD...: run one stage unless OUTPUT is cached; stderr goes to
# the terminal and to out/logs/NAME.log; a failure stops the pipeline naming
# the stage.
run() {
  local name=$1 output=$2
  shift 2
  if [ "$force" != 1 ] && [ -e "$output" ]; then
    log "$name: cached ($(basename "$output"))"
    took[$name]="cached"
    return
  fi
  log "$name: running"
  local t0=$SECONDS rc=0
  "$@" 2> >(tee -a "$out/logs/$name.log" >&2) || rc=$?
  if [ $rc -ne 0 ]; then
    die "stage $name failed (exit $rc); its log: $out/logs/$name.log"
  fi
  took[$name]="$((SECONDS - t0)) s"
}

: >"$out/logs/pipeline.log"
for s in "${stages[@]}"; do : >"$out/logs/$s.log"; done
exec 2> >(tee -a "$out/logs/pipeline.log" >&2)
log "epochs=$epochs batch-size=$batch limit=$limit seed=$seed arch=${arch:-default} out=$out cache=$cache"

# fetch: both splits.
declare -A images
for split in train test; do
  k=$(key fetch "${ver[fetch]}" "$split" "$limit")
  images[$split]="$cache/images-$split-$k.arrows"
  lim=()
  [ "$limit" = 0 ] || lim=(--limit "$limit")
  run fetch "${images[$split]}" "$bin/fetch" --split "$split" "${lim[@]}" -o "${images[$split]}"
done

# augment | train: pairs stream straight into the trainer (not cached: 100
# epochs of pairs are gigabytes); the model and its metrics are.
archarg=()
[ -z "$arch" ] || archarg=(--arch "$arch")
# The recipe's augmentation: RandAugment as the article, after a random
# resized crop of 0.4-1 of the area and a flip (kNN-200 after 20 epochs with
# train's defaults: 0.866 with a crop of 0.2-1, 0.877 with 0.4-1; bench/train.md).
augflags=(--crop-scale 0.4 --flip)
k=$(key train "${ver[augment]}" "${ver[train]}" "${images[train]}" "$epochs" "$seed" "$batch" "$arch" "${augflags[*]}")
model="$cache/model-$k.arrows"
metrics="$cache/metrics-$k.jsonl"
train_stage() {
  local tmp="$metrics.tmp.$$"
  rm -f "$tmp"
  local st
  # Called from run's "||" context, so errexit is off here and PIPESTATUS
  # holds both exit codes.
  "$bin/augment" --epochs "$epochs" --seed "$seed" "${augflags[@]}" -i "${images[train]}" \
    | "$bin/train" --batch-size "$batch" --seed "$seed" "${archarg[@]}" --metrics "$tmp" \
        --checkpoint-dir "$cache/checkpoints-$k" -o "$model"
  st=("${PIPESTATUS[@]}")
  if [ "${st[0]}" -ne 0 ] && [ "${st[0]}" -ne 141 ]; then
    rm -f "$tmp"; echo "pipeline: augment failed (exit ${st[0]})" >&2; return "${st[0]}"
  fi
  if [ "${st[1]}" -ne 0 ]; then rm -f "$tmp"; return "${st[1]}"; fi
  mv "$tmp" "$metrics"
}
if [ ! -e "$metrics" ]; then rm -f "$model"; fi
run train "$model" train_stage

# embed: features of both splits under the model.
declare -A feats
for split in train test; do
  k=$(key embed "${ver[embed]}" "$model" "${images[$split]}")
  feats[$split]="$cache/features-$split-$k.arrows"
  run embed "${feats[$split]}" "$bin/embed" --model "$model" -i "${images[$split]}" -o "${feats[$split]}"
done

# eval: kNN and linear probes of the features, and of raw pixels for reference.
k=$(key eval "${ver[eval]}" "${feats[train]}" "${feats[test]}" "$seed")
report="$cache/report-$k.json"
run eval "$report" "$bin/eval" --train "${feats[train]}" --test "${feats[test]}" --seed "$seed" -o "$report"
k=$(key eval-pixels "${ver[eval]}" "${images[train]}" "${images[test]}" "$seed")
pixreport="$cache/report-pixels-$k.json"
run eval-pixels "$pixreport" "$bin/eval" --train "${images[train]}" --test "${images[test]}" --seed "$seed" -o "$pixreport"

# reduce: UMAP of the test features to 3-D.
k=$(key reduce "${ver[reduce]}" "${feats[test]}" "$seed")
coords="$cache/coords-$k.arrows"
run reduce "$coords" "$bin/reduce" --seed "$seed" -i "${feats[test]}" -o "$coords"

# plot: into the output folder (cheap: always redrawn).
run plot "" "$bin/plot" -i "$coords" --png "$out/umap.png" --html "$out/umap.html"
run plot "" "$bin/plot" --metrics "$metrics" --png "$out/loss.png"

cp "$coords" "$out/coords.arrows.tmp" && mv "$out/coords.arrows.tmp" "$out/coords.arrows"
cp "$report" "$out/report.json.tmp" && mv "$out/report.json.tmp" "$out/report.json"
cp "$pixreport" "$out/report-pixels.json.tmp" && mv "$out/report-pixels.json.tmp" "$out/report-pixels.json"
cp "$model" "$out/model.arrows.tmp" && mv "$out/model.arrows.tmp" "$out/model.arrows"
cp "$metrics" "$out/metrics.jsonl.tmp" && mv "$out/metrics.jsonl.tmp" "$out/metrics.jsonl"

# Summary.
top1() { grep -o "\"$2\": *{[^}]*\"top1\": *[0-9.]*" "$1" | grep -o '[0-9.]*$' | head -1; }
probes() { grep -o '"label_fraction": *[0-9.]*, *[^}]*"top1": *[0-9.]*' "$1" | sed -E 's/"label_fraction": *([0-9.]*).*"top1": *([0-9.]*)/\1:\2/' | tr '\n' ' '; }
{
  echo
  echo "siampipe: $epochs epochs, batch $batch, seed $seed${arch:+, arch $arch}$([ "$limit" = 0 ] || echo ", limit $limit")"
  printf '  kNN-200 top-1       %s   (raw pixels %s)\n' "$(top1 "$out/report.json" knn)" "$(top1 "$out/report-pixels.json" knn)"
  printf '  linear probe        %s  (label fraction:top-1)\n' "$(probes "$out/report.json")"
  printf '  raw-pixel probe     %s\n' "$(probes "$out/report-pixels.json")"
  printf '  time per stage      '
  for s in fetch train embed eval eval-pixels reduce plot; do printf '%s %s; ' "$s" "${took[$s]:-?}"; done
  echo
  echo "  outputs             $out/{umap.png,umap.html,loss.png,report.json,coords.arrows,model.arrows,metrics.jsonl}"
  echo "  logs                $out/logs/"
} | tee "$out/summary.txt"
