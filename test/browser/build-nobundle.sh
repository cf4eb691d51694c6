#!/usr/bin/env bash
# Builds cmd/switchboard as a plain `go build` or `go install` does in a fresh
# clone: from the files git would give (tracked, and new ones not ignored),
# copied to a temporary tree, so without the bundle `make assets` writes to
# internal/whiteboard/dist/ (ignored by git). The binary serves the page's
# sources with our own Socket.IO client (internal/whiteboard/web/).
#
#   bash test/browser/build-nobundle.sh bin/switchboard-nobundle
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(realpath -m "${1:?usage: build-nobundle.sh path/to/output-binary}")
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
# Files deleted from the work tree but still in the index are skipped.
git ls-files -z --cached --others --exclude-standard |
  tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$tree"
if [ -e "$tree/internal/whiteboard/dist/index.html" ]; then
  echo "build-nobundle: the bundle is in the tree git gives; it must be ignored" >&2
  exit 1
fi
(cd "$tree" && ${GO:-go} build -o "$out" ./cmd/switchboard)
echo "build-nobundle: $out (the page's sources, our own Socket.IO client)"
