#!/usr/bin/env bash
# Integration test: every PromQL expression of config/grafana-dashboard.json and
# config/alerts.yml runs without error against a real Prometheus, and every dashboard query
# returns data. Prometheus scrapes tests/testdata/metrics/sample.prom (two sites, served by
# python3 -m http.server) plus one address where nothing listens (an agent that is down).
# Everything listens on loopback, on free ports; every process started is stopped by PID.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if ((status != 0)) && [[ -f "$work/prometheus.log" ]]; then
    echo "--- prometheus.log (tail)" >&2
    tail -n 20 "$work/prometheus.log" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

# The real interpreter, not a version-manager shim, so that $! is the server itself.
python=$(python3 -c 'import sys; print(sys.executable)')
read -r http_port prom_port dead_port < <("$python" -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

mkdir -p "$work/www" "$work/tsdb"
cp "$root/tests/testdata/metrics/sample.prom" "$work/www/frankfurt.prom"
sed -e 's/site="frankfurt-office"/site="berlin-office"/' "$work/www/frankfurt.prom" \
  >"$work/www/berlin.prom"

cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["$root/config/alerts.yml"]
scrape_configs:
  - job_name: mediapath
    static_configs:
      - targets: ["127.0.0.1:$http_port"]
        labels: {__metrics_path__: /frankfurt.prom}
      - targets: ["localhost:$http_port"]
        labels: {__metrics_path__: /berlin.prom}
      - targets: ["127.0.0.1:$dead_port"]
EOF

"$python" -m http.server --bind 127.0.0.1 --directory "$work/www" "$http_port" \
  >"$work/http.log" 2>&1 &
pids+=($!)
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
url="http://127.0.0.1:$prom_port"

# Ready when both sites have been scraped a few times (rate() needs two samples) and the
# rules have been evaluated.
ready=0
for _ in $(seq 1 60); do
  if out=$(promtool query instant "$url" \
      'count(count_over_time(mediapath_site_info[1m]) >= 3)' 2>/dev/null) \
      && [[ "$out" == *"=> 2 @"* ]]; then
    ready=1
    break
  fi
  sleep 0.5
done
((ready)) || { echo "Prometheus did not scrape the sample metrics in time" >&2; exit 1; }
sleep 2

echo "== every expression, all sites and targets"
"$root/scripts/check-dashboard" "$url" --require-data
# The relay and NAT panels have series for relay and nat targets only: the target selections
# include one of each (proxy-a is the TLS one).
echo "== one site, a sip target, a relay target and a nat target"
"$root/scripts/check-dashboard" "$url" --require-data --set site=berlin-office \
  --set 'target=(proxy-a|media-loop-fra|nat-fra)'
echo "== Grafana's multi-value form"
"$root/scripts/check-dashboard" "$url" --require-data \
  --set 'site=(frankfurt-office|berlin-office)' --set 'target=(proxy-a|stun-fra|media-loop-fra|nat-fra)'

echo "== the rule file evaluates without errors in Prometheus"
curl -fsS "$url/api/v1/rules" | "$python" -c '
import json, sys
rules = [r for g in json.load(sys.stdin)["data"]["groups"] for r in g["rules"]]
bad = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
print(f"{len(rules)} rules, {len(bad)} unhealthy")
sys.exit(1 if bad or len(rules) != 11 else 0)'
echo "== alerts with the site label joined"
curl -fsS "$url/api/v1/alerts" | "$python" -c '
import json, sys
alerts = json.load(sys.stdin)["data"]["alerts"]
seen = {(a["labels"]["alertname"], a["labels"].get("site"), a["labels"].get("target")) for a in alerts}
for s in sorted(seen, key=str):
    print(*s)
want = {("MediapathTargetDown", "frankfurt-office", "proxy-b"),
        ("MediapathTargetDown", "berlin-office", "proxy-b"),
        ("MediapathHighPacketLoss", "berlin-office", "proxy-a"),
        ("MediapathLowMOS", "frankfurt-office", "proxy-a"),
        ("MediapathAgentDown", "unknown", None)}
# NaN loss/MOS (turn-fra) must not alert
unwanted = {a for a in seen if a[2] == "turn-fra"}
missing = want - seen
if missing or unwanted:
    print("missing:", missing, "unexpected:", unwanted)
    sys.exit(1)'
echo "dashboard_live_test: OK"
