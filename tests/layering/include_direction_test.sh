#!/usr/bin/env bash
# Builds each layering case (tests/layering/CMakeLists.txt) and checks the outcome: "fail" cases
# must fail because their header is not found, "build" cases must build.
set -uo pipefail
build_dir=$1
shift
failures=0
for spec in "$@"; do
  IFS=: read -r target header expect <<<"$spec"
  out=$(cmake --build "$build_dir" --target "$target" 2>&1)
  rc=$?
  if [[ $expect == fail ]]; then
    if ((rc == 0)); then
      echo "FAIL $target: $header was visible, the include against the direction built"
      failures=$((failures + 1))
    elif ! grep -qF "$header: No such file or directory" <<<"$out"; then
      echo "FAIL $target: the build failed, but not because $header was hidden:"
      tail -n 20 <<<"$out"
      failures=$((failures + 1))
    else
      echo "ok   $target: $header hidden"
    fi
  else
    if ((rc != 0)); then
      echo "FAIL $target: an allowed include did not build:"
      tail -n 20 <<<"$out"
      failures=$((failures + 1))
    else
      echo "ok   $target: $header visible"
    fi
  fi
done
echo "layering: $(($# - failures)) cases as expected, $failures not"
((failures == 0))
