#!/usr/bin/env bash
# Hostile-load measurements (issue 12; docs/benchmarks.md, "Hostile load"):
#
#   bash bench/hostile/run.sh [options of run.mjs]
#
# For each flood (FLOODS, default "polling slowloris silent-ws") it waits,
# polling every 15 s, until no other load suite runs on the machine and the
# 1-minute load average is below 2.5, then measures that flood's two
# configurations (default flags, limits) under flock /tmp/switchboard-load.lock,
# the lock the other load suites here take. The runs are appended to $JSON
# (default: a new /tmp/hostile-*.jsonl) and the combined tables printed at
# the end. The server is built from the work tree into a temporary directory
# (so the commit in the report is what runs) unless --bin is given.
set -euo pipefail
cd "$(dirname "$0")/../.."
ulimit -n "$(ulimit -Hn)"
[ -d node_modules/socket.io-client ] || npm ci --no-audit --no-fund
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=()
case " $* " in
  *" --bin "*) ;;
  *)
    [ -f internal/whiteboard/dist/main.js ] || make assets
    go build -o "$tmp/switchboard" ./cmd/switchboard
    bin=(--bin "$tmp/switchboard")
    ;;
esac
out=${JSON:-$(mktemp /tmp/hostile-XXXXXX.jsonl)}

busy() {
  pgrep -f 'repeat.sh|node --test|go test -fuzz|loadgen' >/dev/null ||
    awk '{ exit !($1 >= 2.5) }' /proc/loadavg
}

for flood in ${FLOODS:-polling slowloris silent-ws}; do
  while busy; do
    echo "hostile: waiting for a quiet machine (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    sleep 15
  done
  flock /tmp/switchboard-load.lock node bench/hostile/run.mjs --floods "$flood" --json "$out" "${bin[@]}" "$@"
done
echo "hostile: all runs in $out" >&2
node bench/hostile/run.mjs --report "$out"
