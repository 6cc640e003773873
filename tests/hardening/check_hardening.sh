#!/usr/bin/env bash
# Checks the hardening of a built binary with readelf (binutils), the same properties Debian's
# hardening-check reports, without its ~240-package devscripts install:
#   PIE         ELF type DYN (a position-independent executable; ASLR moves the code too)
#   RELRO       a GNU_RELRO segment, and BIND_NOW (full RELRO: the GOT is read-only after load)
#   stack       __stack_chk_fail imported (-fstack-protector-strong emitted canaries)
#   fortify     with --fortify: at least one __*_chk libc function imported (_FORTIFY_SOURCE=2)
# Prints one line per property and exits non-zero if any is missing.
#   tests/hardening/check_hardening.sh [--fortify] BINARY
set -euo pipefail

fortify=0
if [[ "${1:-}" == "--fortify" ]]; then
  fortify=1
  shift
fi
if (($# != 1)) || [[ ! -f "$1" ]]; then
  echo "usage: $0 [--fortify] BINARY" >&2
  exit 2
fi
binary=$1

failed=0
report() {  # report NAME OK DETAIL
  if [[ "$2" == 1 ]]; then
    echo "ok      $1: $3"
  else
    echo "MISSING $1: $3"
    failed=1
  fi
}

header=$(readelf --file-header --wide "$binary")
type=$(awk '/^ *Type:/ {print $2}' <<<"$header")
report pie "$([[ "$type" == DYN ]] && echo 1 || echo 0)" "ELF type $type"

segments=$(readelf --program-headers --wide "$binary")
report relro "$(grep -q GNU_RELRO <<<"$segments" && echo 1 || echo 0)" "GNU_RELRO segment"

# BIND_NOW shows either as its own tag or as the NOW flag in FLAGS / FLAGS_1.
dynamic=$(readelf --dynamic --wide "$binary")
report bind_now "$(grep -Eq 'BIND_NOW|FLAGS.*\bNOW\b' <<<"$dynamic" && echo 1 || echo 0)" \
  "$(grep -E 'BIND_NOW|FLAGS' <<<"$dynamic" | awk '{$1=""; print}' | tr -s ' ' | paste -sd ';' -)"

imports=$(readelf --dyn-syms --wide "$binary" | awk '$7 == "UND" {print $8}' | sed 's/@.*//' | sort -u)
report stack_protector "$(grep -qx __stack_chk_fail <<<"$imports" && echo 1 || echo 0)" \
  "__stack_chk_fail imported"

if ((fortify)); then
  chk=$(grep -E '^__.*_chk$' <<<"$imports" | grep -vx __stack_chk_fail || true)
  count=$(grep -c . <<<"$chk" || true)
  report fortify "$((count > 0 ? 1 : 0))" "$count fortified: $(paste -sd ' ' - <<<"${chk:-none}")"
fi

exit "$failed"
