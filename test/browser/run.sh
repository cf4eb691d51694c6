#!/usr/bin/env bash
# Starts a Switchboard node (the binary given as $1) on free loopback ports,
# runs the browser tests (the files given after it, default: every test in
# test/browser/) against it, saves a screenshot under test/artifacts/ (copy
# it to docs/ to refresh the README), and stops the node by pid. The
# whiteboard tests that need a cluster start their own nodes of the same
# binary (SWITCHBOARD_BIN) and a redis-server.
#
#   bash test/browser/run.sh bin/switchboard
#   WHITEBOARD_CLIENT=own bash test/browser/run.sh bin/switchboard-nobundle test/browser/whiteboard.test.mjs
#
# WHITEBOARD_CLIENT, when set, is the Socket.IO client the page must use:
# "official" (the bundle of make assets) or "own" (the page's sources, as a
# plain go build serves them).
set -u
cd "$(dirname "$0")/../.." || exit 2
bin=${1:?usage: run.sh path/to/switchboard [test files...]}
shift
tests=("$@")
[ ${#tests[@]} -eq 0 ] && tests=(test/browser/)
free_port() { node --input-type=module -e "import { freePort } from '$PWD/test/freeport.mjs'; console.log(await freePort())"; }
port=$(free_port); iport=$(free_port)
log=$(mktemp)
"$bin" serve --listen "127.0.0.1:$port" --internal-listen "127.0.0.1:$iport" --node-name browser-node >"$log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 50); do
  curl -fs "http://127.0.0.1:$iport/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
# Our own client is served only when the page is not bundled.
if curl -fs "http://127.0.0.1:$port/sioclient.js" >/dev/null 2>&1; then client=own; else client=official; fi
if [ "$client" = own ]; then echo "# $bin: the page uses our own Socket.IO client"; else echo "# $bin: the page uses the official Socket.IO client"; fi
if [ -n "${WHITEBOARD_CLIENT:-}" ] && [ "$client" != "$WHITEBOARD_CLIENT" ]; then
  echo "run.sh: want the $WHITEBOARD_CLIENT client" >&2
  exit 1
fi
shot=test/artifacts/whiteboard.png
[ "$client" = own ] && shot=test/artifacts/whiteboard-own-client.png
SWITCHBOARD_BIN="$bin" WHITEBOARD_URL="http://127.0.0.1:$port/" WHITEBOARD_EXPECT_NODES="browser-node,browser-node" \
  WHITEBOARD_SCREENSHOT="$shot" node --test --test-force-exit "${tests[@]}"
status=$?
[ $status -ne 0 ] && cat "$log"
exit $status
