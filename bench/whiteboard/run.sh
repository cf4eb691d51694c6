#!/usr/bin/env bash
# The whiteboard measured (issue 16; docs/benchmarks.md, "The whiteboard"):
# `switchboard serve` against the classic Node whiteboard
# (bench/node-whiteboard.mjs), driven by bench/loadgen's WB and WBpin.
#
#   bash bench/whiteboard/run.sh           WB, then WBpin (taskset: server on
#                                          CPU 0, load generator on CPU 1); two
#                                          runs per server each, alternating
#   bash bench/whiteboard/run.sh --smoke   200 clients, a few seconds: the
#                                          harness runs (no wait, no lock)
#
# Other arguments go to the driver, e.g. -scenarios WB -runs 3 -wb-window 10s.
# Before measuring it waits, polling every 15 s, until no other load suite
# runs and the 1-minute load average is below 2.5, and it measures under
# flock /tmp/switchboard-load.lock. The tables go to stdout, every
# measurement to $JSON (default: a new /tmp/whiteboard-*.json).
set -euo pipefail
cd "$(dirname "$0")/../.."
ulimit -n "$(ulimit -Hn)"
[ -d node_modules/socket.io ] || npm ci --no-audit --no-fund
[ -f internal/whiteboard/dist/main.js ] || make assets
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/switchboard" ./cmd/switchboard
go build -o "$tmp/loadgen" ./bench/loadgen
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain 2>/dev/null)" ] || commit="$commit + work tree"
args=(-switchboard "$tmp/switchboard" -commit "$commit")

if [ "${1:-}" = "--smoke" ]; then
  shift
  "$tmp/loadgen" -smoke -scenarios WB "${args[@]}" "$@"
  exit
fi

busy() {
  pgrep -f 'repeat.sh|node --test|go test -fuzz|loadgen|hostile/run.mjs' >/dev/null ||
    awk '{ exit !($1 >= 2.5) }' /proc/loadavg
}
while busy; do
  echo "whiteboard: waiting for a quiet machine (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  sleep 15
done
out=${JSON:-$(mktemp /tmp/whiteboard-XXXXXX.json)}
flock /tmp/switchboard-load.lock "$tmp/loadgen" -scenarios WB,WBpin -runs 2 -out "" -json "$out" "${args[@]}" "$@"
echo "whiteboard: every measurement in $out" >&2
