# shellcheck shell=bash
# Shared by .ci/run and .ci/test: run a named step, print its duration, and
# keep a summary that is printed when the script ends (also on failure).

STEP_SUMMARY=()

step() {
  local name=$1
  shift
  local start=$SECONDS
  echo
  echo "=== ${name}"
  if "$@"; then
    STEP_SUMMARY+=("$(printf '%5ds  ok    %s' $((SECONDS - start)) "$name")")
  else
    local rc=$?
    STEP_SUMMARY+=("$(printf '%5ds  FAIL  %s (exit %d)' $((SECONDS - start)) "$name" "$rc")")
    return "$rc"
  fi
}

print_summary() {
  echo
  echo "=== step durations"
  printf '%s\n' "${STEP_SUMMARY[@]}"
  echo "total: ${SECONDS}s"
}
