#!/usr/bin/env bash
# docs/mediapath-agent.1 renders without groff warnings and documents every command and option
# the binary's --help lists (so a new subcommand or option without a man entry fails here).
# Usage: man_page_test.sh SOURCE_DIR AGENT_BINARY
set -euo pipefail

src=$1
binary=$2
page="$src/docs/mediapath-agent.1"
fail=0

warnings=$(groff -man -ww -z "$page" 2>&1) || true
if [[ -n "$warnings" ]]; then
  echo "FAIL: groff warnings:"
  echo "$warnings"
  fail=1
fi
text=$(MANWIDTH=200 man -l "$page" 2>/dev/null | col -b)

# Names listed under "Subcommands:" in a --help output.
subcommands() {
  "$binary" "$@" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && NF { print $1 }'
}
# Long options of a --help output, without --help itself.
options() {
  "$binary" "$@" --help | grep -o -- '--[a-z][a-z-]*' | grep -vx -- '--help' | sort -u
}

check() {
  local cmd=$1
  shift
  for opt in $(options "$@"); do
    # Each command's synopsis line names its options: "mediapath-agent run --config FILE ...".
    if ! grep -qE -- "mediapath-agent ${cmd:+$cmd }.*${opt}( |\]|$)" <<<"$text"; then
      echo "FAIL: man page synopsis of '$cmd' lacks $opt"
      fail=1
    fi
  done
}

check "" # global options appear in "mediapath-agent [--log-level LEVEL] COMMAND"
for cmd in $(subcommands); do
  if [[ "$cmd" == location ]]; then
    for sub in $(subcommands location); do
      grep -qE "^ +location ${sub}( |$)" <<<"$text" ||
        { echo "FAIL: no COMMANDS entry for 'location $sub'"; fail=1; }
      # "location plan | apply" share one synopsis line.
      if grep -qE "mediapath-agent location ${sub} " <<<"$text"; then
        check "location ${sub}" location "$sub"
      else
        check "location [a-z| ]*${sub}" location "$sub"
      fi
    done
  else
    grep -qE "^ +${cmd}( |$)" <<<"$text" || { echo "FAIL: no COMMANDS entry for '$cmd'"; fail=1; }
    check "$cmd" "$cmd"
  fi
done
exit $fail
