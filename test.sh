#!/usr/bin/env bash
# The test suite: what `.ci/run` runs and what README's quick start calls.
# Installs the Debian packages the tests need when run as root (or with sudo),
# then checks formatting, vets, runs every Go test, and fuzzes the parsers of
# outside bytes briefly (FUZZTIME=60s, or a count such as 500000x, for longer).
set -euo pipefail
cd "$(dirname "$0")"

need=()
[ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
command -v chromium >/dev/null || need+=(chromium)
# PIL and numpy write the own-images test data (tests/data/*.py).
/usr/bin/python3 -c 'import PIL, numpy' 2>/dev/null || need+=(python3-pil python3-numpy)
command -v node >/dev/null || need+=(nodejs npm)
echo 'int main(void){return 0;}' | gcc -x c - -lopenblas -o /dev/null 2>/dev/null || need+=(libopenblas-dev)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "test.sh: installing ${need[*]}" >&2
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}" >/dev/null
fi

# Another Arrow implementation (apache-arrow for JavaScript), pinned by
# interop/package-lock.json, reads and writes our streams in the interop tests.
(cd interop && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

export GOFLAGS="${GOFLAGS:--mod=readonly}"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "test.sh: gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
go test -count=1 -timeout 20m ./...
# The OpenBLAS build of the trainer (cgo) must agree with the pure-Go one.
# internal/openblas checks that OpenBLAS runs the best kernels this CPU has.
go vet -tags openblas ./internal/openblas ./internal/nnops ./internal/infer ./internal/simsiam ./stages/train
go test -count=1 -tags openblas ./internal/openblas ./internal/nnops ./internal/infer ./internal/simsiam ./stages/train
# The Go loops that the assembly kernels replace, on their own (no assembly
# linked), and the AVX2 level on a CPU with AVX-512 (see internal/cpufeat).
kernels=(./internal/cpufeat/... ./internal/gemm ./internal/nnops ./internal/infer ./internal/knn ./internal/probe ./internal/neighbors)
go vet -tags purego "${kernels[@]}"
go test -count=1 -tags purego "${kernels[@]}" ./internal/simsiam
SIAMPIPE_SIMD=avx2 go test -count=1 "${kernels[@]}" ./internal/simsiam
# The helper pool and the products under the race detector.
go test -count=1 -race -short ./internal/par ./internal/gemm

# Each target runs for a count of inputs, about 10 s on a 2-core machine. A
# duration (-fuzztime 10s) can fail with a bare "context deadline exceeded" and
# no crasher when a worker is slow to stop at the end: a race in Go 1.26's fuzz
# coordinator (golang/go#75804, fixed in Go 1.27); a count has no deadline to
# race. FUZZTIME sets one budget for every target instead (e.g. 60s or 500000x).
fuzz() { # target package count
  go test -run '^$' -fuzz "^$1\$" -fuzztime "${FUZZTIME:-$3}" "$2"
}
fuzz FuzzDecode ./internal/idx 300000x
fuzz FuzzReader ./internal/contract 50000x
fuzz FuzzReader ./internal/ipcguard 25000x
fuzz FuzzDecode ./internal/decode 150000x
fuzz FuzzArrow ./internal/table 20000x
fuzz FuzzParquet ./internal/table 5000x
