#!/usr/bin/env bash
# Starts a Switchboard node (the binary given as $1) on free loopback ports,
# runs the whiteboard browser test against it, saves a screenshot under test/artifacts/ (copy it to docs/ to refresh the README),
# and stops the node by pid.
set -u
cd "$(dirname "$0")/../.." || exit 2
bin=${1:?usage: run.sh path/to/switchboard}
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
port=$(free_port); iport=$(free_port)
log=$(mktemp)
"$bin" serve --listen "127.0.0.1:$port" --internal-listen "127.0.0.1:$iport" --node-name browser-node >"$log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 50); do
  curl -fs "http://127.0.0.1:$iport/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
WHITEBOARD_URL="http://127.0.0.1:$port/" WHITEBOARD_EXPECT_NODES="browser-node,browser-node" \
  WHITEBOARD_SCREENSHOT="test/artifacts/whiteboard.png" node --test test/browser/
status=$?
[ $status -ne 0 ] && cat "$log"
exit $status
