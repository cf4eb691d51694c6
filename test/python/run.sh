#!/usr/bin/env bash
# Runs test/python/scenarios.py (Debian's python3-socketio client) in its
# three transport modes and both flavours (threading, asyncio) against the
# Go compat server and against Node's reference server, each started on a
# free loopback port and stopped by pid.
#
#   bash test/python/run.sh            # after `make build`
#   PY_SERVERS=go bash test/python/run.sh
set -u
cd "$(dirname "$0")/../.." || exit 2
PY=/usr/bin/python3 # Debian's, where python3-socketio is installed
if ! "$PY" -c 'import socketio, aiohttp, websocket, requests' 2>/dev/null; then
  echo "python: Debian's python3-socketio, python3-aiohttp, python3-websocket and python3-requests are needed" >&2
  exit 2
fi
declare -A CMD=([go]="bin/compat-goserver" [node]="node test/compat/servers/node-server.mjs")
failed=0
for server in ${PY_SERVERS:-go node}; do
  port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  log=$(mktemp)
  ${CMD[$server]} --port "$port" --ping-interval 25000 --ping-timeout 20000 --connect-timeout 45000 >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do # until it says it listens (or dies)
    grep -q "listening on" "$log" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q "listening on" "$log"; then
    echo "python: the $server server did not start:" >&2
    cat "$log" >&2
    kill "$pid" 2>/dev/null
    exit 1
  fi
  for mode in polling websocket default; do
    for flavor in threading asyncio; do
      out=$("$PY" test/python/scenarios.py "http://127.0.0.1:$port" "$mode" "$flavor" 2>&1)
      rc=$?
      pass=$(grep -c '^ok ' <<<"$out")
      echo "python: $server server, $mode, $flavor: $pass passed, $rc failed"
      if [ "$rc" != 0 ]; then
        grep -v '^ok ' <<<"$out" | sed 's/^/  /'
        failed=$((failed + rc))
      fi
    done
  done
  kill "$pid"
  wait "$pid" 2>/dev/null
  rm -f "$log"
done
[ "$failed" = 0 ] && echo "python: all passed" || { echo "python: $failed failed" >&2; exit 1; }
