#!/usr/bin/env bash
# Fuzzes every target given as package:Function for FUZZTIME each.
#
# Go 1.26's fuzzing coordinator can end a run that found nothing with
# "context deadline exceeded" when -fuzztime expires while a worker is
# busy (golang/go#75804, fixed in Go 1.27). Such a run, with no failing
# input written, is retried once; any other failure fails at once.
set -u
fuzztime=${FUZZTIME:-10s}
go=${GO:-go}
for t in "$@"; do
  pkg=${t%%:*} fn=${t##*:}
  for attempt in 1 2; do
    echo "fuzz $pkg $fn ($fuzztime)"
    log=$(mktemp)
    if "$go" test -run='^$' -fuzz="^$fn\$" -fuzztime="$fuzztime" "$pkg" 2>&1 | tee "$log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
      rm -f "$log"
      break
    fi
    if [ "$attempt" -eq 1 ] && grep -q 'context deadline exceeded' "$log" &&
       ! grep -q -e 'Failing input written' -e '^panic' "$log"; then
      echo "fuzz $pkg $fn: the fuzzing engine's deadline race (golang/go#75804), no failing input; once more"
      rm -f "$log"
      continue
    fi
    rm -f "$log"
    exit 1
  done
done
