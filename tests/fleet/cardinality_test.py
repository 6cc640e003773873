#!/usr/bin/env python3
"""Cardinality of one agent: the series the real `mediapath-agent run` exports for one target of
each kind (and one failover group) are counted by metric name and compared with the table below
(docs/fleet.md "Cardinality"). A change that adds series fails here until the table -- and the
per-office figures derived from it -- are updated on purpose.

It also checks that a figure a kind never measures has no series: no jitter or MOS for tcp, dns,
nat or SIP over TCP (rather than a NaN that a fleet would store for ever).

Nothing answers: every target points at a loopback port where nothing listens (series exist from
start-up, so no peer is needed), the dns target at a loopback DNS server that does not exist.

usage: cardinality_test.py AGENT_BINARY
"""

import collections
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fleet_support import Processes, free_ports, http_get, series, wait_until  # noqa: E402

HISTOGRAM = 18 + 1 + 2  # mediapath_probe_rtt_seconds: 18 buckets + le="+Inf", _sum, _count

# Series per target, by kind (family -> series).
PER_TARGET = {
    "mediapath_probe_success": 1,
    "mediapath_probe_rtt_seconds": HISTOGRAM,
    "mediapath_probe_loss_ratio": 1,
    "mediapath_probe_rounds_skipped_total": 1,
    "mediapath_target_healthy": 1,
}
PATH_QUALITY = {"mediapath_probe_jitter_seconds": 1, "mediapath_probe_mos": 1}
# Only the media loop measures these (by target, without the kind label).
RELAY_ONLY = {"mediapath_probe_one_way_seconds": 1, "mediapath_probe_reordered_ratio": 1}
PER_KIND = {
    "stun": {**PER_TARGET, **PATH_QUALITY},
    "turn": {**PER_TARGET, **PATH_QUALITY},
    "sip-udp": {**PER_TARGET, **PATH_QUALITY},
    "sip-tcp": dict(PER_TARGET),
    "tcp": dict(PER_TARGET),
    "dns": {**PER_TARGET, "mediapath_dns_lookup_seconds": 1},
    "relay": {**PER_TARGET, **PATH_QUALITY, **RELAY_ONLY},
    # One mapping series per RFC 4787 behaviour (and "unknown"), 0 or 1; no burst: no jitter/MOS.
    "nat": {**PER_TARGET, "mediapath_nat_mapping_info": 4},
}


# Per failover group of C candidates: one active gauge per candidate, panic, and the failovers
# counter for planned/applied/failed.
def per_group(candidates):
    return {"mediapath_failover_active": candidates, "mediapath_failover_panic": 1,
            "mediapath_failovers_total": 3}


# Per agent, whatever its config.
PER_AGENT = {
    "mediapath_probe_socket_drops_total": 1,
    "mediapath_config_last_reload_successful": 1,
    "mediapath_build_info": 1,
    "mediapath_site_info": 1,
    # prometheus-cpp's exposer reports on itself: bytes, scrapes, and a summary of scrape
    # latencies (quantiles 0.5, 0.9, 0.99, _sum, _count).
    "exposer_transferred_bytes_total": 1,
    "exposer_scrapes_total": 1,
    "exposer_request_latencies": 5,
}
# Not counted in the table: mediapath_genesys_requests_total{operation,code} has one series per
# Genesys operation and HTTP status seen (none until the agent talks to Genesys Cloud).
DYNAMIC = {"mediapath_genesys_requests_total"}


# The histogram and the summary, whose series are named NAME_bucket/_sum/_count.
MULTI_SERIES = {"mediapath_probe_rtt_seconds", "exposer_request_latencies"}


def family_of(name):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in MULTI_SERIES:
            return name[: -len(suffix)]
    return name


def expected():
    total = collections.Counter(PER_AGENT)
    for kind in PER_KIND.values():
        total.update(kind)
    total.update(per_group(2))
    return total


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    agent = sys.argv[1]
    work = tempfile.mkdtemp(prefix="cardinality-")
    procs = Processes(work)
    try:
        listen, closed, closed_dns = free_ports(3)
        config = {
            "site": {"name": "cardinality-office"},
            "probing": {"interval": "1s", "timeout": "300ms",
                        "burst": {"packets": 3, "spacing": "20ms"}},
            "dns": {"servers": [f"127.0.0.1:{closed_dns}"]},
            "targets": [
                {"name": "stun-a", "kind": "stun", "host": "127.0.0.1", "port": closed},
                {"name": "turn-a", "kind": "turn", "host": "127.0.0.1", "port": closed,
                 "username": "u", "password_env": "TURN_PASSWORD"},
                {"name": "proxy-udp", "kind": "sip", "host": "127.0.0.1", "port": closed,
                 "transport": "udp"},
                {"name": "proxy-tcp", "kind": "sip", "host": "127.0.0.1", "port": closed,
                 "transport": "tcp"},
                {"name": "tcp-a", "kind": "tcp", "host": "127.0.0.1", "port": closed},
                {"name": "dns-a", "kind": "dns", "host": "sip.example.test", "record": "A"},
                # A round is three transactions and the stream: it gets its own interval.
                {"name": "loop-a", "kind": "relay", "host": "127.0.0.1", "port": closed,
                 "username": "u", "password_env": "TURN_PASSWORD", "interval": "5s",
                 "stream": {"packets": 5, "size": 172, "spacing": "20ms"}},
                {"name": "nat-a", "kind": "nat", "host": "127.0.0.1", "port": closed},
            ],
            "failover": [{"name": "media-proxy", "candidates": ["proxy-udp", "proxy-tcp"],
                          "apply_to": {"location_path": "/media/proxy"}}],
            "genesys": {"api_base_url": f"http://127.0.0.1:{closed}",
                        "login_base_url": f"http://127.0.0.1:{closed}",
                        "mode": "plan", "schema": "seed",
                        "client_id_env": "GENESYS_CLIENT_ID",
                        "client_secret_env": "GENESYS_CLIENT_SECRET",
                        "location_id": "not-created"},
        }
        path = os.path.join(work, "site.json")
        with open(path, "w") as f:
            json.dump(config, f, indent=2)
        procs.start("agent", [agent, "run", "--config", path, "--listen", f"127.0.0.1:{listen}",
                              "--state-dir", os.path.join(work, "state")],
                    env={"TURN_PASSWORD": "x", "GENESYS_CLIENT_ID": "id",
                         "GENESYS_CLIENT_SECRET": "secret"})
        url = f"http://127.0.0.1:{listen}/metrics"
        wait_until("the agent's /metrics", lambda: "mediapath_site_info" in http_get(url), 20,
                   procs)
        # A few rounds (1 s interval), so that a series created only by a result shows up too.
        time.sleep(3.5)
        procs.check_running()
        samples = series(http_get(url))

        got = collections.Counter(family_of(n) for n, _, _ in samples if family_of(n) not in DYNAMIC)
        want = expected()
        failures = []
        print(f"{'family':45} {'expected':>8} {'exported':>8}")
        for name in sorted(set(got) | set(want)):
            mark = "" if got[name] == want[name] else "   <-- differs"
            print(f"{name:45} {want[name]:8} {got[name]:8}{mark}")
            if mark:
                failures.append(name)
        print(f"{'total (8 targets, 1 group of 2)':45} {sum(want.values()):8} "
              f"{sum(got.values()):8}")

        for name, labels, value in samples:
            if family_of(name) in PATH_QUALITY and any(
                    f'target="{t}"' in labels for t in ("proxy-tcp", "tcp-a", "dns-a", "nat-a")):
                failures.append(f"{name}{labels} {value}: a figure its kind never measures")
            if family_of(name) in RELAY_ONLY and 'target="loop-a"' not in labels:
                failures.append(f"{name}{labels} {value}: only relay targets measure this")
            if name == "mediapath_nat_mapping_info" and 'target="nat-a"' not in labels:
                failures.append(f"{name}{labels} {value}: only nat targets have this")
        if failures:
            print("cardinality_test: FAILED:", *failures, sep="\n  ")
            print("If the change is meant, update the table here and in docs/fleet.md.")
            return 1
        print("cardinality_test: OK")
        return 0
    finally:
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
