#!/usr/bin/env bash
# Runs the test command (.ci/test) with eight CPU-bound processes beside it,
# as on a 2-core CI machine busy with other builds (load about 10), and
# reports how long it took. The tests must pass like this: none may depend
# on machine speed. Usage:
#   scripts/test-under-load.sh [RUNS]   # RUNS times in a row (default 1)
# BUSY (default 8) sets the number of busy processes, MAX_MINUTES (default
# 90, CI's budget) bounds them in time. They are killed when the script
# ends, however it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-1}
busy=${BUSY:-8}
max_minutes=${MAX_MINUTES:-90}
pids=()

stop_busy() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait "${pids[@]}" 2>/dev/null || true
  pids=()
}
trap stop_busy EXIT
trap 'exit 130' INT TERM

for ((i = 0; i < busy; i++)); do
  # A shell loop that never sleeps: pure CPU. timeout bounds it even if
  # this script is killed with SIGKILL and its trap never runs.
  timeout "${max_minutes}m" bash -c 'while :; do :; done' &
  pids+=($!)
done
echo "started $busy CPU-bound processes (at most ${max_minutes} min) on $(nproc) cores"

results=()
status=0
for ((r = 1; r <= runs; r++)); do
  start=$SECONDS
  echo "=== run $r of $runs, $(uptime)"
  if .ci/test; then
    results+=("run $r: ok in $((SECONDS - start))s")
  else
    rc=$?
    results+=("run $r: FAILED (exit $rc) after $((SECONDS - start))s")
    status=$rc
    break
  fi
done
stop_busy
echo
echo "=== under load ($busy busy processes, $(nproc) cores)"
printf '%s\n' "${results[@]}"
exit "$status"
