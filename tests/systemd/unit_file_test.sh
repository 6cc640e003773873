#!/usr/bin/env bash
# systemd/mediapath-agent.service, checked offline (no running systemd needed):
#  - `systemd-analyze verify` prints nothing on stderr, for the unit alone and with the example
#    drop-ins (credentials.conf.example, listen.conf.example) applied;
#  - `systemd-analyze security --offline=true` rates it at most MAX_EXPOSURE;
#  - the settings the agent relies on are there (Type=notify, the watchdog, reload by SIGHUP).
# verify needs ExecStart='s binary and Documentation='s man page to exist: the copy under test
# points ExecStart at the built binary and MANPATH at the source man page.
# Usage: unit_file_test.sh SOURCE_DIR AGENT_BINARY
set -euo pipefail

src=$1
binary=$(realpath "$2")  # ExecStart= needs an absolute path
MAX_EXPOSURE=2.0
unit_src="$src/systemd/mediapath-agent.service"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/man/man1" "$tmp/plain" "$tmp/dropins"
cp "$src/docs/mediapath-agent.1" "$tmp/man/man1/"
export MANPATH="$tmp/man"
fail=0

grep -qx 'ExecStart=/usr/bin/mediapath-agent run --config /etc/mediapath-agent/agent.json' \
  "$unit_src" || { echo "FAIL: ExecStart is not the packaged command line"; fail=1; }
for line in 'Type=notify' 'NotifyAccess=main' 'WatchdogSec=30s' 'Restart=on-failure' \
            'ExecReload=/bin/kill -HUP $MAINPID' 'StateDirectory=mediapath-agent' \
            'ConfigurationDirectory=mediapath-agent' 'DynamicUser=yes' 'ProtectSystem=strict' \
            'NoNewPrivileges=yes' 'CapabilityBoundingSet=' 'SystemCallFilter=@system-service'; do
  grep -qxF "$line" "$unit_src" || { echo "FAIL: unit lacks '$line'"; fail=1; }
done

# verify: exit 0 is not enough (unknown keys are only warned about): stderr must stay empty.
verify() {
  local unit=$1 err
  err=$(systemd-analyze verify "$unit" 2>&1 >/dev/null) || { echo "FAIL: verify $unit exited $?"; fail=1; }
  if [[ -n "$err" ]]; then
    echo "FAIL: systemd-analyze verify $unit:"
    echo "$err"
    fail=1
  fi
}
sed "s#/usr/bin/mediapath-agent#$binary#" "$unit_src" > "$tmp/plain/mediapath-agent.service"
verify "$tmp/plain/mediapath-agent.service"
# A drop-in's [Service] lines behave as if appended to the unit.
{
  cat "$tmp/plain/mediapath-agent.service"
  sed "s#/usr/bin/mediapath-agent#$binary#" "$src/systemd/credentials.conf.example" \
    "$src/systemd/listen.conf.example"
} > "$tmp/dropins/mediapath-agent.service"
verify "$tmp/dropins/mediapath-agent.service"

# "→ Overall exposure level for mediapath-agent.service: 1.2 OK 🙂"
report=$(systemd-analyze security --offline=true "$tmp/plain/mediapath-agent.service" 2>&1) || true
level=$(sed -n 's/.*Overall exposure level for mediapath-agent.service: \([0-9.]*\).*/\1/p' <<<"$report")
if [[ -z "$level" ]]; then
  echo "FAIL: no exposure level in systemd-analyze security output:"
  echo "$report"
  fail=1
elif awk -v l="$level" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(l > m) }'; then
  echo "FAIL: exposure level $level > $MAX_EXPOSURE"
  grep '✗' <<<"$report" || true
  fail=1
else
  echo "systemd-analyze security: exposure level $level (limit $MAX_EXPOSURE)"
fi

exit $fail
