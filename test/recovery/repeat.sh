#!/usr/bin/env bash
# Runs the recovery suite RUNS times in a row (a fresh cluster each time)
# for the faults given, and prints one line per run and fault plus a total:
#   bash test/recovery/repeat.sh 20 rolling
#   bash test/recovery/repeat.sh 20 kill9
# Stops at the first run with an incomplete or deaf client unless
# KEEP_GOING=1. Needs bin/switchboard (make build).
set -uo pipefail
runs=${1:?runs}
faults=${2:?faults, e.g. rolling or kill9,rolling}
cd "$(dirname "$0")/../.."
export SWITCHBOARD_BIN=${SWITCHBOARD_BIN:-$PWD/bin/switchboard}
log=$(mktemp -d)/runs
bad=0
for i in $(seq 1 "$runs"); do
  out="$log.$i"
  # One load suite at a time on a shared machine: wait for the others.
  RECOVERY_FAULTS=$faults flock /tmp/switchboard-load.lock node --test --test-force-exit test/recovery/recovery.test.mjs >"$out" 2>&1
  rc=$?
  grep -ho 'recovery {.*}' "$out" | sed "s/^recovery /run $i rc $rc /"
  if [ $rc -ne 0 ]; then
    bad=$((bad + 1))
    echo "run $i failed; its output: $out"
    grep -E 'DEAF|not connected at the end|incomplete|e\.g\.' "$out" | head -10
    [ "${KEEP_GOING:-0}" = 1 ] || break
  fi
done
echo "repeat: $i runs of $faults, $bad failed"
[ $bad -eq 0 ]
