#!/usr/bin/env bash
# Whole-agent benchmarks (the built `mediapath-agent run`, real peers on loopback):
#   scrape    /metrics of an agent probing 1,000 STUN targets, vs a 1-target agent (baseline)
#   idle      CPU % and RSS of an agent with 20 targets at 5 s, vs a 1-target agent (baseline)
#   failover  reaction time from "proxy A stopped" to "Genesys accepted the change", 10 runs,
#             vs the reference unhealthy_threshold x interval (runs can beat it: see README)
# Usage: bench/agent_bench.sh BUILD_DIR [scrape|idle|failover]...   (default: all three)
# Env: MEDIAPATH_BENCH_IDLE_SECONDS (default 300), MEDIAPATH_BENCH_FAILOVER_RUNS (default 10).
# Method and figures: bench/README.md.
set -euo pipefail
build=$(cd "${1:?usage: bench/agent_bench.sh BUILD_DIR [scrape|idle|failover]...}" && pwd)
shift
parts=("$@")
((${#parts[@]})) || parts=(scrape idle failover)
agent=$build/agent/cli/mediapath-agent
emulator=$build/tools/genesys_emulator/genesys-emulator
responder=$build/bench/bench_stun_responder

work=$(mktemp -d /tmp/mediapath-bench.XXXXXX)
pids=()
# Processes started inside $(...) subshells cannot append to this shell's `pids`, so every
# start also records its pid in $work/pids, which cleanup reads.
track() { echo "$1" >>"$work/pids"; }
cleanup() {
  [[ -f $work/pids ]] && while read -r pid; do pids+=("$pid"); done <"$work/pids"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_file() { for _ in $(seq 200); do [[ -s $1 ]] && return 0; sleep 0.05; done; return 1; }
wait_ready() { for _ in $(seq 600); do curl -sf "http://127.0.0.1:$1/-/ready" >/dev/null && return 0; sleep 0.1; done; return 1; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

start_responder() {
  "$responder" --listen 127.0.0.1:0 --port-file "$work/responder.port" >"$work/responder.log" 2>&1 &
  track $!
  wait_file "$work/responder.port"
  cat "$work/responder.port"
}

# stun_config FILE N PORT INTERVAL: N STUN targets against the responder.
stun_config() {
  python3 - "$@" <<'EOF'
import json, sys
path, n, port, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
targets = [{"name": f"stun-{i:05d}", "kind": "stun", "host": "127.0.0.1", "port": port}
           for i in range(n)]
json.dump({"site": {"name": "bench"},
           "probing": {"interval": interval, "timeout": "500ms"},
           "targets": targets}, open(path, "w"))
EOF
}

start_agent() {  # CONFIG PORT LOG
  "$agent" run --config "$1" --listen "127.0.0.1:$2" --state-dir "$work/state" >"$3" 2>&1 &
  track $!
  echo $!
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

scrape_bench() {
  local rport big small bport sport
  rport=$(start_responder)
  stun_config "$work/big.json" 1000 "$rport" 1s
  stun_config "$work/small.json" 1 "$rport" 1s
  bport=$(free_port); sport=$(free_port)
  start_agent "$work/big.json" "$bport" "$work/big.log" >/dev/null
  start_agent "$work/small.json" "$sport" "$work/small.log" >/dev/null
  wait_ready "$bport" && wait_ready "$sport"
  sleep 3
  for which in small big; do
    local port=$sport; [[ $which == big ]] && port=$bport
    for _ in $(seq 50); do
      curl -s -o "$work/$which.metrics" -w '%{time_total}\n' "http://127.0.0.1:$port/metrics"
    done >"$work/$which.times"
  done
  local big_ms small_ms big_max bytes
  big_ms=$(awk '{print $1*1000}' "$work/big.times" | median)
  big_max=$(awk '{print $1*1000}' "$work/big.times" | sort -g | tail -1)
  small_ms=$(awk '{print $1*1000}' "$work/small.times" | median)
  bytes=$(wc -c <"$work/big.metrics")
  echo "scrape: 1000 STUN targets at 1 s, probing continues during 50 scrapes"
  printf '  /metrics median %.2f ms (max %.2f ms), body %d bytes (%d series lines)\n' \
    "$big_ms" "$big_max" "$bytes" "$(grep -vc '^#' "$work/big.metrics")"
  printf '  baseline 1-target agent: median %.2f ms; ratio %.1fx; target <= 100 ms\n' \
    "$small_ms" "$(awk -v a="$big_ms" -v b="$small_ms" 'BEGIN{print a/b}')"
}

idle_bench() {
  local seconds=${MEDIAPATH_BENCH_IDLE_SECONDS:-300}
  local rport twenty one p20 p1 t0 c20 c1 hz
  rport=$(start_responder)
  stun_config "$work/twenty.json" 20 "$rport" 5s
  stun_config "$work/one.json" 1 "$rport" 5s
  p20=$(start_agent "$work/twenty.json" "$(free_port)" "$work/twenty.log")
  p1=$(start_agent "$work/one.json" "$(free_port)" "$work/one.log")
  sleep 6  # past start-up and the first rounds
  hz=$(getconf CLK_TCK)
  c20=$(cpu_ticks "$p20"); c1=$(cpu_ticks "$p1"); t0=$(date +%s.%N)
  sleep "$seconds"
  local elapsed cpu20 cpu1
  elapsed=$(awk -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN{print t1-t0}')
  cpu20=$(awk -v a="$c20" -v b="$(cpu_ticks "$p20")" -v hz="$hz" -v e="$elapsed" 'BEGIN{printf "%.3f", (b-a)/hz/e*100}')
  cpu1=$(awk -v a="$c1" -v b="$(cpu_ticks "$p1")" -v hz="$hz" -v e="$elapsed" 'BEGIN{printf "%.3f", (b-a)/hz/e*100}')
  echo "idle: 20 STUN targets at 5 s for ${seconds} s"
  echo "  CPU ${cpu20}% of one core, RSS $(awk '/VmRSS/{print $2/1024}' /proc/$p20/status) MiB (peak $(awk '/VmHWM/{print $2/1024}' /proc/$p20/status) MiB); targets < 1% CPU, < 20 MiB"
  echo "  baseline 1-target agent: CPU ${cpu1}%, RSS $(awk '/VmRSS/{print $2/1024}' /proc/$p1/status) MiB"
}

failover_bench() {
  local runs=${MEDIAPATH_BENCH_FAILOVER_RUNS:-10}
  export GENESYS_CLIENT_ID=bench GENESYS_CLIENT_SECRET=bench-secret
  local eport; eport=$(free_port)
  "$emulator" --listen "127.0.0.1:$eport" --port-file "$work/emu.port" --client-id bench \
    --client-secret-env GENESYS_CLIENT_SECRET --activation-delay 0ms --schema seed \
    >"$work/emu.log" 2>&1 &
  pids+=($!)
  wait_file "$work/emu.port"
  local base="http://127.0.0.1:$eport"
  kamailio_cfg() {  # IP PORT DIR
    mkdir -p "$3"
    printf '%s\n' '#!KAMAILIO' 'children=2' 'tcp_children=2' 'disable_sctp=yes' 'auto_aliases=no' \
      "listen=udp:$1:$2" "listen=tcp:$1:$2" 'loadmodule "pv.so"' 'loadmodule "sl.so"' \
      'loadmodule "textops.so"' 'loadmodule "xlog.so"' \
      'request_route { if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; } sl_send_reply("405", "Method Not Allowed"); exit; }' \
      >"$3/k.cfg"
  }
  start_kamailio() {  # IP PORT DIR -> pid
    kamailio -f "$3/k.cfg" -DD -E -m 32 -M 8 -Y "$3" -P "$3/k.pid" >>"$3/k.log" 2>&1 &
    track $!
    echo $!
  }
  local pa pb times=() confirm
  pa=$(free_port); pb=$(free_port)
  kamailio_cfg 127.0.0.2 "$pa" "$work/ka"; kamailio_cfg 127.0.0.3 "$pb" "$work/kb"
  local kb; kb=$(start_kamailio 127.0.0.3 "$pb" "$work/kb"); pids+=("$kb")
  # Baseline first, in the same run: thresholds alone (confirm_interval off), then the default
  # fast confirmation (200 ms, adaptive timeout).
  for confirm in off 200ms; do
  times=()
  for run in $(seq "$runs"); do
    local ka; ka=$(start_kamailio 127.0.0.2 "$pa" "$work/ka")
    sleep 1
    local id
    id=$(curl -s -X POST -H 'Content-Type: application/json' "$base/_emulator/locations" -d \
      "{\"name\":\"bench\",\"region\":\"eu-central-1\",\"sip\":{\"ports\":[5060]},\"media\":{\"sip\":{\"ports\":[5060]},\"proxy\":{\"host\":\"127.0.0.2\",\"port\":$pa},\"stun\":{\"host\":\"127.0.0.1\",\"port\":3478},\"turn\":{\"host\":\"127.0.0.1\",\"port\":3478}},\"ipAddressAllowlist\":[]}" |
      python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
    python3 - "$work/fo.json" "$pa" "$pb" "$base" "$id" "$confirm" <<'EOF'
import json, sys
path, pa, pb, base, loc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
confirm = sys.argv[6]
json.dump({"site": {"name": "bench"},
           "probing": {"interval": "1s", "timeout": "500ms", "burst": {"packets": 5, "spacing": "20ms"}},
           "targets": [{"name": "proxy-a", "kind": "sip", "host": "127.0.0.2", "port": pa},
                       {"name": "proxy-b", "kind": "sip", "host": "127.0.0.3", "port": pb}],
           "failover": [{"name": "g", "candidates": ["proxy-a", "proxy-b"],
                         "unhealthy_threshold": 3, "confirm_interval": confirm,
                         "apply_to": {"location_path": "/media/proxy"}}],
           "genesys": {"api_base_url": base, "login_base_url": base, "mode": "apply", "schema": "seed",
                       "client_id_env": "GENESYS_CLIENT_ID", "client_secret_env": "GENESYS_CLIENT_SECRET",
                       "location_id": loc}}, open(path, "w"))
EOF
    rm -rf "$work/state"
    local aport apid; aport=$(free_port)
    apid=$(start_agent "$work/fo.json" "$aport" "$work/fo-$run.log")
    wait_ready "$aport"
    sleep 1.5  # start the failure at a random phase of the 1 s probing grid
    # One poller process stops proxy A and watches the emulator every 10 ms: a curl and a
    # python start per poll cost 50-100 ms on a loaded 2-core machine, which the figure
    # would have included.
    times+=("$(python3 - "$ka" "$base" "$id" <<'EOF'
import json, os, signal, sys, time, urllib.request
pid, base, loc = int(sys.argv[1]), sys.argv[2], sys.argv[3]
t0 = time.monotonic()
os.kill(pid, signal.SIGTERM)
while time.monotonic() - t0 < 20:
    state = json.load(urllib.request.urlopen(base + "/_emulator/state"))
    if [x for x in state["locations"] if x["id"] == loc][0]["media"]["proxy"]["host"] == "127.0.0.3":
        break
    time.sleep(0.01)
print(round((time.monotonic() - t0) * 1000))
EOF
)")
    wait "$ka" 2>/dev/null || true
    kill "$apid"; wait "$apid" 2>/dev/null || true
  done
  local sorted med mx
  sorted=$(printf '%s\n' "${times[@]}" | sort -g | tr '\n' ' ')
  med=$(printf '%s\n' "${times[@]}" | median)
  mx=$(printf '%s\n' "${times[@]}" | sort -g | tail -1)
  echo "failover: proxy stop -> change accepted by Genesys, ${runs} runs, interval 1 s, unhealthy_threshold 3, confirm_interval $confirm"
  echo "  ms: $sorted"
  printf '  median %s ms, max %s ms; ratio to the 3000 ms reference (threshold x interval) %.2f\n' \
    "$med" "$mx" "$(awk -v m="$med" 'BEGIN{print m/3000}')"
  [[ $confirm == off ]] && base_med=$med
  done
  printf '  fast confirmation / thresholds alone (median): %.2f; target median <= 1500 ms, max <= 2000 ms\n' \
    "$(awk -v a="$med" -v b="$base_med" 'BEGIN{print a/b}')"
}

echo "== $(date -u +%FT%TZ) on $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for part in "${parts[@]}"; do
  case $part in
    scrape) scrape_bench ;;
    idle) idle_bench ;;
    failover) failover_bench ;;
    *) echo "unknown part $part" >&2; exit 2 ;;
  esac
done
