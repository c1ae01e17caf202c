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
# file and rename), each with a recorded SHA-256 that is checked (and, for an
# Arrow stream, its end-of-stream marker) before the entry is reused: a damaged
# entry is rebuilt. A lock keeps two runs from sharing a cache at once; under
# it, a run first removes temporary files that a killed run left behind.
#
# Ctrl-C (SIGINT or SIGTERM to the process group) lets the running stage stop
# cleanly (train finishes its step and writes a checkpoint), then the pipeline
# says "pipeline: interrupted" and exits 130; the next run with the same flags
# resumes train from its newest whole checkpoint, to the same model bytes.
#
# Flags (each also as an environment variable, e.g. SIAMPIPE_EPOCHS=20):
#   --epochs N       training epochs (default: the preset's; 20: about 7 minutes on 2 cores)
#   --batch-size N   pairs per step (default 256)
#   --limit N        use only the first N images of each split (a smoke run)
#   --seed N         seed of every random stage (default 0)
#   --arch A         seed | simsiam (default: train's default)
#   --depth N        convolutions per backbone stage, 1..4 (default: the preset's)
#   --method M       simsiam | simclr (default: the preset's)
#   --preset P       the recipe: default (SimCLR, 20 epochs, crop + flip + RandAugment,
#                    train's other defaults), long (the same over 50 epochs) or article
#                    (the reference article: --arch seed, SimSiam, lr 1e-4, wd 1e-4,
#                    RandAugment 5 ops only, 100 epochs); --epochs, --arch, --method and
#                    --depth given as flags win over the preset
#   --monitor N      kNN monitor every N epochs: train scores the backbone on the
#                    test split against 5,000 train images, into the metrics and
#                    loss.png (default 4, a few % of train's time; 0: off)
#   --data SOURCE    the images: fashion-mnist (default), folder:DIR (class subfolders,
#                    or a flat folder of unlabelled images), idx:IMAGES[,LABELS],
#                    parquet:FILE or arrow:FILE (an image column and a label column)
#   --test-data SOURCE  the source's own test split (as --data)
#   --test-fraction F   without --test-data: hold out F of each class of --data as the
#                    test split, deterministically (default 0.2; FashionMNIST has its own)
#   --size HxW       resize every image (default: as they are; they must then be one size)
#   --channels C     1 (grey) or 3 (RGB) (default: as the images are)
#   --shards N       run the map stages (fetch, augment, embed) as N processes each, one
#                    per shard (--shard I/N), joined by concat: the same bytes as N=1
#   --store URL      keep the cache entries in an object store, s3://bucket/prefix (the
#                    AWS_* variables say where and as whom), under the same keys;
#                    --cache then holds only the lock
#   --out DIR        outputs and logs (default out/)
#   --cache DIR      cached intermediates (default .cache/)
#   --force          recompute every stage (train starts over: no resume)
#   --smoke          a quick run for CI: --limit 2000 --epochs 1 unless given
set -euo pipefail

# The whole script is one brace group, which bash reads to its end before it
# runs any of it: a checkout updated (git pull) while a run is under way
# cannot change what the running script does next (bash otherwise reads a
# script as it goes, and an edit makes it run from the wrong byte).
{

root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

epochs=${SIAMPIPE_EPOCHS:-}
batch=${SIAMPIPE_BATCH_SIZE:-256}
limit=${SIAMPIPE_LIMIT:-0}
seed=${SIAMPIPE_SEED:-0}
arch=${SIAMPIPE_ARCH:-}
depth=${SIAMPIPE_DEPTH:-}
method=${SIAMPIPE_METHOD:-}
preset=${SIAMPIPE_PRESET:-default}
monitor=${SIAMPIPE_MONITOR:-4}
out=${SIAMPIPE_OUT:-out}
cache=${SIAMPIPE_CACHE:-.cache}
force=${SIAMPIPE_FORCE:-0}
smoke=${SIAMPIPE_SMOKE:-0}
data=${SIAMPIPE_DATA_SOURCE:-fashion-mnist}
testdata=${SIAMPIPE_TEST_DATA:-}
testfraction=${SIAMPIPE_TEST_FRACTION:-}
size=${SIAMPIPE_SIZE:-}
channels=${SIAMPIPE_CHANNELS:-}
shards=${SIAMPIPE_SHARDS:-1}
store=${SIAMPIPE_STORE:-}

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
    --depth) depth=${2:?--depth needs a value}; shift 2 ;;
    --method) method=${2:?--method needs a value}; shift 2 ;;
    --preset) preset=${2:?--preset needs a value}; shift 2 ;;
    --monitor) monitor=${2:?--monitor needs a value}; shift 2 ;;
    --data) data=${2:?--data needs a value}; shift 2 ;;
    --test-data) testdata=${2:?--test-data needs a value}; shift 2 ;;
    --test-fraction) testfraction=${2:?--test-fraction needs a value}; shift 2 ;;
    --size) size=${2:?--size needs a value}; shift 2 ;;
    --channels) channels=${2:?--channels needs a value}; shift 2 ;;
    --shards) shards=${2:?--shards needs a value}; shift 2 ;;
    --store) store=${2:?--store needs a value}; shift 2 ;;
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
# The recipes. augflags go to augment, trainflags to train; both are part of
# train's cache key.
case $preset in
  default)
    # SimCLR (t 0.2) on RandAugment views after a random resized crop of
    # 0.4-1 of the area and a flip. Over three seeds, kNN-200 after 20
    # epochs: SimCLR 0.8770 (0.8765-0.8774), SimSiam 0.8736 (0.8721-0.8756);
    # a crop of 0.2-1 gave 0.866 for SimSiam, 0.4-1 0.877 (bench/train.md).
    augflags=(--crop-scale 0.4 --flip) trainflags=()
    [ "$arch" != seed ] || method=${method:-simsiam} # seed has no projector for SimCLR
    method=${method:-simclr} ;;
  article)
    # The reference article: its model, lr and length; augment's defaults
    # are its RandAugment (5 ops at magnitude 9), drawn per image rather
    # than per batch.
    augflags=() trainflags=(--lr 1e-4 --weight-decay 1e-4)
    epochs=${epochs:-100} arch=${arch:-seed} method=${method:-simsiam} ;;
  long)
    # The default recipe over 50 epochs: kNN-200 0.8785 against 0.8771
    # after 20 (seed 0; bench/train.md), about 2.5 times the time.
    augflags=(--crop-scale 0.4 --flip) trainflags=()
    [ "$arch" != seed ] || method=${method:-simsiam}
    method=${method:-simclr} epochs=${epochs:-50} ;;
  *) echo "pipeline: --preset $preset: unknown preset (use default, article or long)" >&2; exit 2 ;;
esac
epochs=${epochs:-20}
[[ $shards =~ ^[0-9]+$ ]] && [ "$shards" -ge 1 ] || { echo "pipeline: --shards $shards: want a whole number of at least 1" >&2; exit 2; }
for v in epochs batch limit seed monitor; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "pipeline: --${v/batch/batch-size} ${!v}: want a whole number" >&2; exit 2; }
done

# srcargs SOURCE: fetch's flags for a --data source, into the array src.
srcargs() {
  case $1 in
    fashion-mnist) src=() ;;
    folder:?*) src=(--folder "${1#folder:}") ;;
    idx:?*,?*) local v=${1#idx:}; src=(--idx-images "${v%%,*}" --idx-labels "${v#*,}") ;;
    idx:?*) src=(--idx-images "${1#idx:}") ;;
    parquet:?*) src=(--parquet "${1#parquet:}") ;;
    arrow:?*) src=(--arrow "${1#arrow:}") ;;
    *) echo "pipeline: --data $1: unknown source (use fashion-mnist, folder:DIR, idx:IMAGES,LABELS, parquet:FILE or arrow:FILE)" >&2; exit 2 ;;
  esac
}
# srcdigest SOURCE: what the source's files are, for the cache key: the
# files' digests, or for a folder its files' names, sizes and times.
srcdigest() {
  local f
  case $1 in
    fashion-mnist) echo fashion-mnist ;;
    folder:*) f=${1#folder:}
      [ -d "$f" ] || { echo "pipeline: --data $1: no such folder" >&2; exit 2; }
      (cd "$f" && find -L . -type f ! -path '*/.*' -printf '%P %s %T@\n' | LC_ALL=C sort | sha256sum | cut -c1-16) ;;
    *) local files
      IFS=, read -ra files <<<"${1#*:}"
      for f in "${files[@]}"; do
        [ -f "$f" ] || { echo "pipeline: --data $1: no such file $f" >&2; exit 2; }
        sha256sum <"$f" | cut -c1-16
      done ;;
  esac
}
srcargs "$data"; trainsrc=("${src[@]}")
if [ "$data" = fashion-mnist ]; then
  [ -z "$testdata" ] && [ -z "$testfraction" ] || { echo "pipeline: FashionMNIST has its own test split; --test-data and --test-fraction are for other --data" >&2; exit 2; }
  testsrc=()
elif [ -n "$testdata" ]; then
  [ -z "$testfraction" ] || { echo "pipeline: --test-data and --test-fraction: give one" >&2; exit 2; }
  srcargs "$testdata"; testsrc=("${src[@]}")
else
  testfraction=${testfraction:-0.2}
  trainsrc+=(--test-fraction "$testfraction") testsrc=("${trainsrc[@]}")
fi
shape=()
[ -z "$size" ] || shape+=(--size "$size")
[ -z "$channels" ] || shape+=(--channels "$channels")

mkdir -p "$out/logs" "$cache"
out=$(cd "$out" && pwd)
cache=$(cd "$cache" && pwd)
# Where the entries live: the cache folder, or the object store.
ent=$cache
if [ -n "$store" ]; then
  [[ $store == s3://?*/* || $store == s3://?* ]] || { echo "pipeline: --store $store: want s3://bucket/prefix" >&2; exit 2; }
  ent=${store%/}
fi

# One run per cache at a time. The stages inherit the lock's descriptor, so a
# stage that outlives a killed pipeline.sh still holds it.
exec 9>"$cache/.lock"
if ! flock -n 9; then
  log "another pipeline run holds $cache/.lock; waiting for it"
  flock 9
fi

# Logs: stderr goes to the terminal and to out/logs/pipeline.log, each stage's
# also to out/logs/STAGE.log. The tee processes ignore SIGINT and SIGTERM: a
# Ctrl-C must not take the logs away from a stage that is still writing its
# checkpoint (its next log line would die of SIGPIPE), nor from this script.
# A tee ends when the last writer closes its pipe.
tee_log() { trap '' INT TERM; exec tee -a "$1" >&2; }
: >"$out/logs/pipeline.log"
for s in fetch train embed eval eval-pixels reduce plot; do : >"$out/logs/$s.log"; done
exec 2> >(tee_log "$out/logs/pipeline.log")

# Ctrl-C: a signal that arrives while a stage runs (the terminal sends it to
# the stage too) waits for that stage to stop by itself, which is how train
# gets to write its checkpoint; at any other moment the pipeline stops at
# once. Either way it says "pipeline: interrupted" and exits 130.
in_stage="" interrupted=0
stop_interrupted() {
  log "interrupted${1:+ while $1 ran}; run the same command again to continue${2:+ ($2)}"
  exit 130
}
on_signal() {
  if [ -n "$in_stage" ]; then interrupted=1; return 0; fi
  stop_interrupted
}
trap on_signal INT TERM

# Stale temporary files: what a killed run left behind (stages write
# ".NAME.tmp-*" beside their output, this script "NAME.tmp.PID"). Under the
# lock nothing else writes into this cache, so they are garbage. Only names
# this pipeline makes are matched, in case --cache or --out is a shared folder.
sweep() {
  local pat=() p f n=0 bytes=0
  for p in images model metrics features report coords; do
    pat+=(-o -name ".$p-*.tmp-*" -o -name "$p-*.tmp.[0-9]*")
  done
  local ck=() outpat=()
  for f in "$cache"/checkpoints-*/; do [ -d "$f" ] && ck+=("$f"); done
  for p in umap.png umap.html loss.png coords.arrows report.json report-pixels.json model.arrows metrics.jsonl; do
    outpat+=(-o -name ".$p.tmp-*" -o -name "$p.tmp*")
  done
  local found=()
  while IFS= read -r -d '' f; do found+=("$f"); done < <(
    find "$cache" -maxdepth 1 -type f \( -false "${pat[@]}" \) -print0
    [ ${#ck[@]} -eq 0 ] || find "${ck[@]}" -maxdepth 1 -type f \( -name '.epoch-*.tmp-*' -o -name '.step-*.tmp-*' -o -name '*.tmp.[0-9]*' \) -print0
    find "$out" -maxdepth 1 -type f \( -false "${outpat[@]}" \) -print0)
  for f in ${found[@]+"${found[@]}"}; do
    bytes=$((bytes + $(stat -c %s "$f")))
    rm -f "$f"
    n=$((n + 1))
  done
  [ $n -eq 0 ] || log "removed $n stale temporary file(s) that an interrupted run left, freeing $bytes bytes ($(numfmt --to=iec-i --suffix=B "$bytes"))"
  # The FIFOs of a sharded augment (pairs).
  find "$cache" -maxdepth 1 -type d -name '.pairs.tmp.*' -exec rm -rf {} +
}
sweep

# Data: the Debian package, or whatever fetch finds (--dir, SIAMPIPE_DATA, cache).
if [ "$data" = fashion-mnist ] && [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ -z "${SIAMPIPE_DATA:-}" ] \
   && [ ! -f "${XDG_CACHE_HOME:-$HOME/.cache}/siampipe/fashion-mnist/train-images-idx3-ubyte.gz" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    log "installing the data set: apt-get install dataset-fashion-mnist"
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null
  else
    die "FashionMNIST not found: run 'sudo apt-get install dataset-fashion-mnist' (or 'bin/fetch --download')"
  fi
fi

# The CPU and the SIMD level the stages' kernels run at: the best this CPU
# has (AVX-512, AVX2+FMA or generic Go), lowered by SIAMPIPE_SIMD as the
# stages lower it. Outputs are the same bytes for the same level and inputs,
# and differ in the last bits between levels, so every cache key includes
# the level and the summary names it.
cpu_name=$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//') || true
cpu_flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2-) " || true
has_flag() { [[ $cpu_flags == *" $1 "* ]]; }
cpu_simd=generic
if has_flag avx512f && has_flag avx512vl; then cpu_simd=avx512
elif has_flag avx2 && has_flag fma; then cpu_simd=avx2
fi
simd=$cpu_simd
case "${SIAMPIPE_SIMD:-}" in
  "" | avx512) ;;
  avx2) [ "$cpu_simd" = generic ] || simd=avx2 ;;
  generic) simd=generic ;;
  *) echo "pipeline: SIAMPIPE_SIMD=${SIAMPIPE_SIMD}: unknown SIMD level (use avx512, avx2 or generic, or unset it)" >&2; exit 2 ;;
esac

# Build the stages into bin/ on every run: go build is incremental and knows
# every input of a binary (.go, .s, .c, .h, embedded files such as
# scatter.js), so it relinks exactly the binaries whose code changed and takes
# well under a second when none did. -trimpath and -buildvcs=false make the
# binaries reproducible, so a binary's digest is the version of its code that
# cache keys use.
stages=(fetch augment train embed eval reduce plot concat)
bin="$root/bin"
gobuild() { (cd "$root" && go build -trimpath -buildvcs=false "$@"); }

# Every stage is plain Go (no cgo): train's matrix products run on
# internal/gemm's own kernels on all cores, as fast as OpenBLAS here.
build_stages() {
  mkdir -p "$bin" && rm -f "$bin/.stamp"
  CGO_ENABLED=0 gobuild -o "$bin/" ./stages/...
}

log "building ${stages[*]} into $bin (go build: only what changed)"
build_stages || die "build failed (is Go 1.26 installed?)"
declare -A ver
for s in "${stages[@]}"; do ver[$s]=$(sha256sum "$bin/$s" | cut -c1-16); done

# Paths in the cache enter keys without the cache's own location, so that a
# cache moved elsewhere (or an object store) keeps its keys.
key() {
  local a=("${@//"$cache"\//}")
  printf '%s\n' "simd $simd" "${a[@]//"$ent"\//}" | sha256sum | cut -c1-16
}

# Entries in an object store appear only whole (an upload is committed at
# the end or not at all), so they need no digest: their existence is the
# check. isurl PATH; exists ENTRY (0 yes, 1 no); rment ENTRY...
isurl() { [[ $1 == s3://* ]]; }
exists() {
  isurl "$1" || { [ -e "$1" ]; return; }
  local rc=0
  "$bin/store" --quiet stat "$1" || rc=$?
  [ "$rc" = 0 ] && return 0
  [ "$rc" = 3 ] && return 1
  die "the store did not answer for $1 (store stat exit $rc)"
}
rment() {
  if isurl "$1"; then "$bin/store" --quiet rm "$@"; else rm -f "$@"; fi
}

# Cache entries are trusted only when whole. seal FILE records FILE's SHA-256
# in FILE.sha256 (sha256sum's format, so 'sha256sum -c' checks it too), after
# FILE has appeared. damaged FILE [optional] prints why FILE cannot be used
# and succeeds, or fails (printing nothing) when FILE is whole: an Arrow
# stream (.arrows) must end with the end-of-stream marker (0xFFFFFFFF then a
# zero length; every entry is a stream written by a stage), and the digest
# must be the recorded one (with "optional", a file without a record passes
# on its marker alone: train's checkpoints, which train writes itself).
seal() {
  local f=$1 d
  d=$(sha256sum <"$f" | cut -c1-64)
  printf '%s  %s\n' "$d" "$(basename "$f")" >"$f.sha256.tmp.$$"
  mv "$f.sha256.tmp.$$" "$f.sha256"
}
damaged() {
  local f=$1 want="" got
  if [[ $f == *.arrows ]] && [ "$(tail -c 8 "$f" | od -An -tx1 | tr -d ' \n')" != ffffffff00000000 ]; then
    echo "no Arrow end-of-stream marker at its end: truncated"
    return 0
  fi
  if [ ! -f "$f.sha256" ]; then
    [ "${2:-}" = optional ] && return 1
    echo "no digest was recorded when it was written"
    return 0
  fi
  read -r want _ <"$f.sha256" || true
  got=$(sha256sum <"$f" | cut -c1-64)
  [ "$want" != "$got" ] || return 1
  echo "its SHA-256 differs from the one recorded when it was written"
}

# sharded OUTPUT CMD...: CMD with -o OUTPUT, or with --shards above 1, CMD
# --shard I/N -o PART for every I at once, then concat of the parts into
# OUTPUT (the same bytes; concat checks that the parts are whole and one
# stream's). The parts are temporaries the sweep knows (NAME.tmp.PID).
sharded() {
  local output=$1 i rc=0 parts=() pids=()
  shift
  if [ "$shards" = 1 ]; then "$@" -o "$output"; return; fi
  for ((i = 0; i < shards; i++)); do
    parts+=("$output.shard$i.tmp.$$")
    "$@" --shard "$i/$shards" -o "${parts[i]}" & pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || rc=$?; done
  [ "$rc" != 0 ] || "$bin/concat" --quiet -o "$output" "${parts[@]}" || rc=$?
  rment "${parts[@]}"
  return "$rc"
}

declare -A took
# run NAME OUTPUT CMD...: run one stage unless OUTPUT is cached and whole;
# stderr goes to the terminal and to out/logs/NAME.log; a failure stops the
# pipeline naming the stage.
run() {
  local name=$1 output=$2 why
  shift 2
  if [ "$force" != 1 ] && [ -n "$output" ] && exists "$output"; then
    if isurl "$output" || ! why=$(damaged "$output"); then
      log "$name: cached ($(basename "$output"))"
      took[$name]="cached"
      return
    fi
    log "$name: cache entry $(basename "$output") is damaged ($why); rebuilding"
  fi
  [ -z "$output" ] || isurl "$output" || rm -f "$output.sha256"
  log "$name: running"
  local t0=$SECONDS rc=0
  in_stage=$name
  [ "$interrupted" = 0 ] || stop_interrupted "$name"
  "$@" 2> >(tee_log "$out/logs/$name.log") || rc=$?
  in_stage=""
  if [ $rc -eq 0 ] && [ -n "$output" ] && ! isurl "$output"; then seal "$output"; fi
  if [ "$interrupted" = 1 ] || [ $rc -eq 130 ]; then
    stop_interrupted "$name" "$([ "$name" != train ] || echo "train resumes from its newest checkpoint")"
  fi
  if [ $rc -ne 0 ]; then
    die "stage $name failed (exit $rc); its log: $out/logs/$name.log"
  fi
  took[$name]="$((SECONDS - t0)) s"
}

log "data=$data${testdata:+ test-data=$testdata}${testfraction:+ test-fraction=$testfraction}${size:+ size=$size}${channels:+ channels=$channels} preset=$preset epochs=$epochs batch-size=$batch limit=$limit seed=$seed arch=${arch:-default} method=${method:-default} depth=${depth:-default} monitor=$monitor out=$out cache=$cache"

# fetch: both splits.
declare -A images
for split in train test; do
  if [ "$split" = train ]; then fargs=("${trainsrc[@]}") sd=$(srcdigest "$data")
  else fargs=("${testsrc[@]}") sd=$(srcdigest "${testdata:-$data}"); fi
  fargs+=("${shape[@]}")
  if [ "$data" = fashion-mnist ]; then
    k=$(key fetch "${ver[fetch]}" "$split" "$limit" "${shape[*]}")
  else
    k=$(key fetch "${ver[fetch]}" "$split" "$limit" "${fargs[*]}" "$sd")
  fi
  images[$split]="$ent/images-$split-$k.arrows"
  lim=()
  [ "$limit" = 0 ] || lim=(--limit "$limit")
  run fetch "${images[$split]}" sharded "${images[$split]}" "$bin/fetch" "${fargs[@]}" --split "$split" "${lim[@]}"
done
# Labels: FashionMNIST has them; another source's stream records class
# names (siampipe.classes, in its schema at the start) exactly when it is
# labelled. Unlabelled data trains and is drawn, with no monitor or eval.
labelled=1
# (grep reads a process substitution: in a pipe, its early exit would fail
# head with SIGPIPE, and pipefail would call that "not found".)
if [ "$data" != fashion-mnist ] && ! grep -aq siampipe.classes <("$bin/store" --quiet cat "${images[train]}" | head -c 1048576); then
  labelled=0
  [ "$monitor" = 0 ] || log "the images are unlabelled: no kNN monitor, no eval"
  monitor=0
fi

# augment | train: pairs stream straight into the trainer (not cached: 100
# epochs of pairs are gigabytes); the model and its metrics are.
archarg=()
[ -z "$arch" ] || archarg=(--arch "$arch")
[ -z "$method" ] || archarg+=(--method "$method")
[ -z "$depth" ] || archarg+=(--depth "$depth")
# The kNN monitor: the test split against a fixed 5,000 of the train images
# (about 2 s a score on 2 cores; bench/train.md).
monargs=()
[ "$monitor" = 0 ] || monargs=(--monitor "${images[test]}" --monitor-bank "${images[train]}" --monitor-bank-size 5000 --monitor-every "$monitor")
k=$(key train "${ver[augment]}" "${ver[train]}" "${images[train]}" "$epochs" "$seed" "$batch" "$arch" "${augflags[*]}" "${archarg[*]}" "${monargs[*]}" "${trainflags[*]}")
model="$ent/model-$k.arrows"
metrics="$ent/metrics-$k.jsonl"
# train's checkpoints (epoch-NNNN.arrows every 10 epochs, step-NNNNNNN.arrows
# on an interrupt) and the metrics so far; a run that finds checkpoints here
# resumes from the one with the most steps.
ckdir="$ent/checkpoints-$k"
# The steps of epoch-NNNN: NNNN x steps per epoch, the train images (--limit,
# or the 60,000 of FashionMNIST's train split) over the batch size. Used only
# to order epoch and step checkpoints: a wrong count would cost time, not
# correctness, since every checkpoint here lies on one deterministic run.
train_rows=60000
[ "$limit" = 0 ] || [ "$limit" -ge "$train_rows" ] || train_rows=$limit

# ckpt_step FILE: the steps completed in checkpoint FILE, from its name.
ckpt_step() {
  local b n
  b=$(basename "$1" .arrows)
  n=${b#*-}
  [[ $n =~ ^[0-9]+$ ]] || return 1
  case $b in
    step-*) echo $((10#$n)) ;;
    epoch-*) echo $((10#$n * (batch > 0 ? train_rows / batch : 0))) ;;
    *) return 1 ;;
  esac
}
# pick_checkpoint DIR: "FILE STEPS" of the whole checkpoint with the most
# steps in DIR, or nothing. Damaged ones are removed with a log line.
pick_checkpoint() {
  local f n why best="" most=-1
  for f in "$1"/epoch-*.arrows "$1"/step-*.arrows; do
    [ -f "$f" ] && n=$(ckpt_step "$f") || continue
    if why=$(damaged "$f" optional); then
      log "train: checkpoint $f is damaged ($why); skipping it (removed)"
      rm -f "$f" "$f.sha256"
      continue
    fi
    if [ "$n" -gt "$most" ]; then best=$f most=$n; fi
  done
  [ -z "$best" ] || echo "$best $most"
}
# cut_metrics FILE STEPS: keep FILE's whole metrics lines up to STEPS, so that
# a resumed train appends to the log of the steps it keeps.
cut_metrics() {
  local f=$1 steps=$2 line
  [ -f "$f" ] || { log "train: no metrics of the steps before $steps (the run that made the checkpoint was killed before writing them)"; return 0; }
  while IFS= read -r line; do
    [[ $line =~ \"step\":([0-9]+)[,}] && $line == *'}' ]] || continue
    [ "$((10#${BASH_REMATCH[1]}))" -gt "$steps" ] || printf '%s\n' "$line"
  done <"$f" >"$f.tmp.$$"
  mv "$f.tmp.$$" "$f"
}
# seal_checkpoints DIR: record the digests of the whole checkpoints train
# wrote, so that a later change to one is noticed.
seal_checkpoints() {
  local f
  for f in "$1"/epoch-*.arrows "$1"/step-*.arrows; do
    [ -f "$f" ] && [ ! -f "$f.sha256" ] || continue
    damaged "$f" optional >/dev/null || seal "$f"
  done
}
# pairs: the pairs stream on stdout: augment's, or with --shards above 1,
# N augment processes (--shard I/N) writing into FIFOs that concat reads in
# turn, epoch by epoch: the same bytes, never stored. Its status is concat's
# (141 when train stopped reading), else the first augment failure's.
pairs() {
  local aug=("$bin/augment" --epochs "$epochs" --seed "$seed" "${augflags[@]}" -i "${images[train]}")
  if [ "$shards" = 1 ]; then setsid -w "${aug[@]}"; return; fi
  local dir i st rc=0 pids=() fifos=()
  dir=$(mktemp -d "$cache/.pairs.tmp.XXXXXX")
  for ((i = 0; i < shards; i++)); do
    fifos+=("$dir/$i")
    mkfifo "${fifos[i]}"
    setsid -w "${aug[@]}" --shard "$i/$shards" -o "${fifos[i]}" & pids+=($!)
  done
  setsid -w "$bin/concat" --quiet "${fifos[@]}" || rc=$?
  # A writer whose FIFO concat never opened waits in open(): open each for
  # reading once, so that every augment ends (of SIGPIPE if not done).
  for i in "${fifos[@]}"; do : <>"$i"; done
  for i in "${pids[@]}"; do
    wait "$i" && st=0 || st=$?
    [ "$st" = 0 ] || [ "$st" = 141 ] || [ "$rc" != 0 ] || rc=$st
  done
  rm -rf "$dir"
  return "$rc"
}
train_stage() {
  local partial="$ckdir/metrics.jsonl" pick="" resume=() file="" st
  if isurl "$ckdir"; then
    # In the store: train itself picks the checkpoint with the most steps
    # under the prefix (--resume PREFIX/) and cuts the metrics back to it.
    local ck
    ck=$("$bin/store" --quiet ls "$ckdir/") || die "cannot list $ckdir/ in the store"
    if [ "$force" = 1 ] && [ -n "$ck" ]; then
      # shellcheck disable=SC2086 # one URL a line, no spaces
      rment $ck
      ck=""
    fi
    if grep -qE '/(epoch|step)-[0-9]+\.arrows$' <<<"$ck"; then
      file="$ckdir/"
      log "train: resuming from the newest checkpoint under $ckdir/"
      resume=(--resume "$ckdir/")
    fi
  else
    [ "$force" != 1 ] || rm -rf "$ckdir"
    mkdir -p "$ckdir"
    pick=$(pick_checkpoint "$ckdir")
  fi
  if [ -n "$pick" ]; then
    file=${pick% *}
    cut_metrics "$partial" "${pick##* }"
    log "train: resuming from $file (step ${pick##* })"
    resume=(--resume "$file")
  fi
  [ "$interrupted" = 0 ] || return 130
  # augment runs in its own session, out of reach of the terminal's Ctrl-C:
  # train decides when the pairs stop, and augment ends when train closes the
  # pipe (SIGPIPE, 141), after train has written its checkpoint. Called from
  # run's "||" context, so errexit is off here and PIPESTATUS holds both
  # exit codes.
  pairs \
    | "$bin/train" --batch-size "$batch" --seed "$seed" "${archarg[@]}" "${trainflags[@]}" "${monargs[@]}" "${resume[@]}" --metrics "$partial" \
        --checkpoint-dir "$ckdir" -o "$model"
  st=("${PIPESTATUS[@]}")
  isurl "$ckdir" || seal_checkpoints "$ckdir"
  if [ "${st[0]}" -ne 0 ] && [ "${st[0]}" -ne 141 ] && [ "$interrupted" = 0 ]; then
    echo "pipeline: augment failed (exit ${st[0]})" >&2; return "${st[0]}"
  fi
  if [ "${st[1]}" -ne 0 ]; then
    if [ -n "$file" ] && [ "${st[1]}" -ne 130 ] && [ "$interrupted" = 0 ]; then
      log "train: resuming from $file failed; if that checkpoint is the cause, delete it (or rerun with --force)"
    fi
    return "${st[1]}"
  fi
  if isurl "$metrics"; then
    "$bin/store" --quiet cp "$partial" "$metrics"
  else
    cp "$partial" "$metrics.tmp.$$" && mv "$metrics.tmp.$$" "$metrics" && seal "$metrics"
  fi
}
# The model and its metrics are one entry: neither is used without the other.
if [ "$force" != 1 ] && ! isurl "$metrics" && [ -e "$metrics" ] && why=$(damaged "$metrics"); then
  log "train: cache entry $(basename "$metrics") is damaged ($why); rebuilding"
  rm -f "$metrics" "$metrics.sha256"
fi
if ! exists "$metrics"; then
  if isurl "$model"; then rment "$model"; else rm -f "$model" "$model.sha256"; fi
fi
run train "$model" train_stage

# embed: features of both splits under the model.
declare -A feats
for split in train test; do
  k=$(key embed "${ver[embed]}" "$model" "${images[$split]}")
  feats[$split]="$ent/features-$split-$k.arrows"
  run embed "${feats[$split]}" sharded "${feats[$split]}" "$bin/embed" --model "$model" -i "${images[$split]}"
done

# eval: kNN and linear probes of the features, and of raw pixels for reference.
if [ "$labelled" = 1 ]; then
  k=$(key eval "${ver[eval]}" "${feats[train]}" "${feats[test]}" "$seed")
  report="$ent/report-$k.json"
  run eval "$report" "$bin/eval" --train "${feats[train]}" --test "${feats[test]}" --seed "$seed" -o "$report"
  k=$(key eval-pixels "${ver[eval]}" "${images[train]}" "${images[test]}" "$seed")
  pixreport="$ent/report-pixels-$k.json"
  run eval-pixels "$pixreport" "$bin/eval" --train "${images[train]}" --test "${images[test]}" --seed "$seed" -o "$pixreport"
fi

# reduce: UMAP of the test features to 3-D.
k=$(key reduce "${ver[reduce]}" "${feats[test]}" "$seed")
coords="$ent/coords-$k.arrows"
run reduce "$coords" "$bin/reduce" --seed "$seed" -i "${feats[test]}" -o "$coords"

# plot: into the output folder (cheap: always redrawn).
run plot "" "$bin/plot" -i "$coords" --png "$out/umap.png" --html "$out/umap.html"
run plot "" "$bin/plot" --metrics "$metrics" --png "$out/loss.png"

# publish SRC NAME: copy a cache entry to out/NAME atomically.
publish() {
  if isurl "$1"; then "$bin/store" --quiet cp "$1" "$out/$2"; else cp "$1" "$out/$2.tmp.$$" && mv "$out/$2.tmp.$$" "$out/$2"; fi
}
publish "$coords" coords.arrows
if [ "$labelled" = 1 ]; then
  publish "$report" report.json
  publish "$pixreport" report-pixels.json
else
  rm -f "$out/report.json" "$out/report-pixels.json" # not this run's
fi
publish "$model" model.arrows
publish "$metrics" metrics.jsonl

# Summary.
top1() { grep -o "\"$2\": *{[^}]*\"top1\": *[0-9.]*" "$1" | grep -o '[0-9.]*$' | head -1; }
probes() { grep -o '"label_fraction": *[0-9.]*, *[^}]*"top1": *[0-9.]*' "$1" | sed -E 's/"label_fraction": *([0-9.]*).*"top1": *([0-9.]*)/\1:\2/' | tr '\n' ' '; }
{
  echo
  echo "siampipe: preset $preset, $epochs epochs, batch $batch, seed $seed${arch:+, arch $arch}${method:+, method $method}${depth:+, depth $depth}$([ "$limit" = 0 ] || echo ", limit $limit")"
  echo "  data                $data${testdata:+, test $testdata}${testfraction:+, test fraction $testfraction}${size:+, size $size}${channels:+, channels $channels}"
  if [ "$labelled" = 1 ]; then
    printf '  kNN-200 top-1       %s   (raw pixels %s)\n' "$(top1 "$out/report.json" knn)" "$(top1 "$out/report-pixels.json" knn)"
    printf '  linear probe        %s  (label fraction:top-1)\n' "$(probes "$out/report.json")"
    printf '  raw-pixel probe     %s\n' "$(probes "$out/report-pixels.json")"
  else
    echo "  eval                none: the images are unlabelled"
  fi
  printf '  time per stage      '
  for s in fetch train embed eval eval-pixels reduce plot; do printf '%s %s; ' "$s" "${took[$s]:-?}"; done
  echo
  printf '  cpu                 %s\n' "${cpu_name:-unknown}, SIMD $simd"
  echo "  outputs             $out/{umap.png,umap.html,loss.png,report.json,coords.arrows,model.arrows,metrics.jsonl}"
  echo "  logs                $out/logs/"
} | tee "$out/summary.txt"
exit
}
