#!/usr/bin/env bash
# Runs the compatibility suite once per transport mode (polling, websocket, default) against
# the server command in COMPAT_SERVER (JSON argv; default: the Node reference server).
# Stops at the first failing mode; exit code non-zero on failure.
#
#   bash test/compat/run.sh
#   COMPAT_SERVER='["/path/to/compat-goserver"]' bash test/compat/run.sh
#   COMPAT_MODES="websocket" bash test/compat/run.sh      # subset of modes
#   COMPAT_SUITE=test/compat-v2/ COMPAT_EIO3=1 bash test/compat/run.sh  # the Socket.IO v2 client suite
set -u
cd "$(dirname "$0")/../.." || exit 2

if [ ! -d node_modules/socket.io-client ] || [ ! -d node_modules/engine.io-client ] || [ ! -d node_modules/socket.io-client-v2 ]; then
  echo "node_modules missing: run 'npm ci' in $(pwd) first" >&2
  exit 2
fi

export COMPAT_SERVER="${COMPAT_SERVER:-[\"node\",\"test/compat/servers/node-server.mjs\"]}"
modes="${COMPAT_MODES:-polling websocket default}"
suite="${COMPAT_SUITE:-test/compat/}"
echo "compat: server ${COMPAT_SERVER}, suite ${suite}"

for mode in $modes; do
  echo "=== compat: COMPAT_TRANSPORTS=${mode}"
  start=$(date +%s)
  if ! COMPAT_TRANSPORTS="$mode" node --test --test-force-exit "$suite"; then
    echo "=== compat: FAILED in mode ${mode} after $(( $(date +%s) - start )) s" >&2
    exit 1
  fi
  echo "=== compat: mode ${mode} passed in $(( $(date +%s) - start )) s"
done
echo "=== compat: all modes passed"
