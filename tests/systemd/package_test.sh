#!/usr/bin/env bash
# The Debian package, built with CPack from this build tree into a temporary directory (the
# build is already done, so this only stages and archives — a few seconds):
#  - it holds the binary, the unit, the conffile, the monitoring files, the man page, copyright;
#  - /etc/mediapath-agent/agent.json is a conffile; no maintainer script enables or starts the
#    service; Depends was computed (libuv, c-ares, curl, systemd libraries);
#  - unpacked, its binary runs (--version) and validates its own config;
#  - a plain `cmake --install` leaves /etc and the unit alone (they are the package's).
# Usage: package_test.sh BINARY_DIR
set -euo pipefail

bindir=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

cpack -G DEB --config "$bindir/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log"; echo "FAIL: cpack"; exit 1; }
debs=("$tmp"/out/mediapath-agent_*.deb)
[[ ${#debs[@]} -eq 1 && -f "${debs[0]}" ]] || { ls -R "$tmp/out"; echo "FAIL: no single .deb"; exit 1; }
deb=${debs[0]}
echo "built $(basename "$deb")"

contents=$(dpkg-deb -c "$deb" | awk '{ print $NF }')
for f in ./usr/bin/mediapath-agent \
         ./lib/systemd/system/mediapath-agent.service \
         ./etc/mediapath-agent/agent.json \
         ./usr/share/mediapath-agent/agent.example.json \
         ./usr/share/mediapath-agent/alerts.yml \
         ./usr/share/mediapath-agent/grafana-dashboard.json \
         ./usr/share/mediapath-agent/README.md \
         ./usr/share/man/man1/mediapath-agent.1.gz \
         ./usr/share/doc/mediapath-agent/copyright \
         ./usr/share/doc/mediapath-agent/operations.md \
         ./usr/share/doc/mediapath-agent/README.systemd \
         ./usr/share/doc/mediapath-agent/examples/credentials.conf.example \
         ./usr/share/doc/mediapath-agent/examples/listen.conf.example; do
  grep -qxF "$f" <<<"$contents" || { echo "FAIL: package lacks $f"; fail=1; }
done

info=$(dpkg-deb -I "$deb")
echo "$info" | grep -E '^ (Package|Version|Architecture|Depends):'
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libuv1 libc-ares2 libcurl4 libsystemd0 libspdlog; do
  grep -q "$lib" <<<"$depends" || { echo "FAIL: Depends lacks $lib: $depends"; fail=1; }
done
mkdir "$tmp/control"
dpkg-deb -e "$deb" "$tmp/control"
grep -qx '/etc/mediapath-agent/agent.json' "$tmp/control/conffiles" 2>/dev/null ||
  { echo "FAIL: agent.json is not a conffile"; fail=1; }
# No maintainer script may enable or start the service (operators do: systemctl enable --now).
for script in preinst postinst prerm postrm; do
  if [[ -e "$tmp/control/$script" ]]; then
    if grep -qE 'systemctl|deb-systemd-invoke|deb-systemd-helper|invoke-rc.d' "$tmp/control/$script"; then
      echo "FAIL: $script touches the service:"
      cat "$tmp/control/$script"
      fail=1
    fi
  fi
done

dpkg -x "$deb" "$tmp/root"
"$tmp/root/usr/bin/mediapath-agent" --version || { echo "FAIL: --version"; fail=1; }
"$tmp/root/usr/bin/mediapath-agent" validate --config "$tmp/root/etc/mediapath-agent/agent.json" ||
  { echo "FAIL: validate of the packaged agent.json"; fail=1; }
cmp -s "$tmp/root/etc/mediapath-agent/agent.json" \
  "$tmp/root/usr/share/mediapath-agent/agent.example.json" ||
  { echo "FAIL: agent.json differs from agent.example.json"; fail=1; }
zcat "$tmp/root/usr/share/man/man1/mediapath-agent.1.gz" | grep -q '^\.TH MEDIAPATH-AGENT 1' ||
  { echo "FAIL: man page"; fail=1; }
# A plain `cmake --install` (a developer installing a build) must not write /etc or the unit:
# only the package does. DESTDIR catches absolute destinations too.
DESTDIR="$tmp/destdir" cmake --install "$bindir" --prefix /usr/local >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; echo "FAIL: cmake --install"; fail=1; }
[[ -x "$tmp/destdir/usr/local/bin/mediapath-agent" ]] || { echo "FAIL: plain install lacks the binary"; fail=1; }
for f in etc/mediapath-agent/agent.json lib/systemd/system/mediapath-agent.service; do
  [[ ! -e "$tmp/destdir/$f" ]] || { echo "FAIL: plain cmake --install wrote /$f"; fail=1; }
done
exit $fail
