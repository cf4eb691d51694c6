#!/usr/bin/env bash
# Side-by-side benchmarks, Switchboard vs Node's socket.io 4.8 (issue 7) and
# the Go peers zishang520/socket.io and Centrifugo (issue 16; built once from
# bench/peers/ and cached in ~/.cache/switchboard-bench/).
#
#   bash bench/run.sh                the full matrix (about 40 minutes; 2 cores
#                                    busy): rewrites docs/benchmarks.md (between
#                                    its markers), docs/benchmarks.json and .png
#   bash bench/run.sh --head ...     the same, with the Go server built from the
#                                    last commit (HEAD) instead of the work tree
#   bash bench/run.sh --smoke        checks that the harness runs (< 30 s);
#                                    writes nothing
#
# Any other argument goes to the driver (go run ./bench/loadgen -h), e.g.
#   bash bench/run.sh -scenarios S2,S5 -runs 1 -out /tmp/b.md
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules/socket.io ] && [ -d node_modules/@socket.io/redis-adapter ] || npm ci --no-audit --no-fund

if [ "${1:-}" = "--smoke" ]; then
  shift
  exec go run ./bench/loadgen -smoke "$@"
fi

src=.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain 2>/dev/null)" ] || commit="$commit + work tree"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "${1:-}" = "--head" ]; then
  shift
  # The committed tree, with bench/ from the work tree: work in progress
  # elsewhere in the tree is not measured.
  mkdir "$tmp/src"
  git archive HEAD | tar -x -C "$tmp/src"
  rm -rf "$tmp/src/bench" && cp -r bench "$tmp/src/bench"
  src="$tmp/src"
  commit="$(git rev-parse --short HEAD) (bench/ from the work tree)"
fi
command -v gnuplot >/dev/null || echo "bench: gnuplot not found (apt-get install gnuplot-nox): no plot" >&2
(cd "$src" && go build -o "$tmp/goserver" ./bench/goserver)
(cd "$src" && go build -o "$tmp/loadgen" ./bench/loadgen)
echo "bench: $(nproc) CPUs, loadavg $(cut -d' ' -f1-3 /proc/loadavg); the full matrix takes about 40 minutes" >&2
"$tmp/loadgen" -goserver "$tmp/goserver" -commit "$commit" "$@"
