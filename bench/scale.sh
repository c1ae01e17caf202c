#!/usr/bin/env bash
# Local against sharded runs, with and without the object store: the same
# pipeline (default recipe, LIMIT images of each split, EPOCHS epochs) four
# times from an empty cache: --shards 1 and 2, cache on the local disk and
# in an S3 server (versitygw on 127.0.0.1, serving a temporary folder on the
# same disk), printing each run's wall time and the time of every stage.
#
# Usage: bash bench/scale.sh        (LIMIT=20000 EPOCHS=2 by default)
# The versitygw binary: $VERSITYGW, or the one the tests build
# (internal/objstore/s3test caches it under ~/.cache/siampipe-versitygw).
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${LIMIT:-20000} epochs=${EPOCHS:-2}
version=$(grep -o 'Version = "v[0-9.]*"' internal/objstore/s3test/s3test.go | grep -o 'v[0-9.]*')
vgw=${VERSITYGW:-${SIAMPIPE_VERSITYGW_CACHE:-$HOME/.cache/siampipe-versitygw}/$version/versitygw}
if [ ! -x "$vgw" ]; then
  echo "building versitygw $version ..." >&2
  d=$(mktemp -d); (cd "$d" && GOBIN="$d" GOFLAGS= CGO_ENABLED=0 go install "github.com/versity/versitygw/cmd/versitygw@$version")
  vgw="$d/versitygw"
fi
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
mkdir -p "$work/s3/runs"
"$vgw" --access bench --secret benchsecret --port "127.0.0.1:$port" --quiet posix "$work/s3" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
sleep 1
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=benchsecret AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1

grep -m1 'model name' /proc/cpuinfo
echo "cores: $(nproc); pipeline --limit $limit --epochs $epochs (default recipe), each run from an empty cache"
./pipeline.sh --smoke --out "$work/warm" --cache "$work/warmc" >/dev/null 2>&1 # build the stages once
printf '| run | wall | fetch | train | embed | eval | eval-pixels | reduce |\n|---|---|---|---|---|---|---|---|\n'
for store in local s3; do
  for shards in 1 2; do
    name="$store, --shards $shards"
    extra=(--shards "$shards")
    [ "$store" = local ] || extra+=(--store "s3://runs/cache-$shards")
    t0=$(date +%s.%N)
    ./pipeline.sh --limit "$limit" --epochs "$epochs" "${extra[@]}" --out "$work/out-$store-$shards" --cache "$work/cache-$store-$shards" >/dev/null 2>&1
    t1=$(date +%s.%N)
    stages=$(grep -o 'time per stage.*' "$work/out-$store-$shards/summary.txt" | sed 's/time per stage *//')
    printf '| %s | %.1f s |' "$name" "$(echo "$t1 - $t0" | bc)"
    for s in fetch train embed eval eval-pixels reduce; do
      printf ' %s |' "$(grep -o "$s [0-9]* s" <<<"$stages" | head -1 | grep -o '[0-9]* s')"
    done
    echo
  done
done
