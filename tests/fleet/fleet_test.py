#!/usr/bin/env python3
"""The fleet shape on one machine (issue #18, docs/fleet.md): N offices, each a real
`mediapath-agent run` with its own config and site name and its own Prometheus in agent mode
(config/fleet/office-agent.yml with the office's names filled in), pushing with remote_write to
one central Prometheus with the remote-write receiver (config/fleet/central.yml) that evaluates
config/alerts.yml and config/fleet/fleet-rules.yml.

Asserts that the centre sees every site's series with its site, instance and job labels, that
every recording rule and every expression of the fleet dashboard returns data (and the per-site
dashboard's and config/alerts.yml's run without error, so their joins stay one-to-one across the
fleet), and that stopping one office's Prometheus agent raises MediapathSiteSilent for that site
alone. The test copy of the fleet rules shortens the silence threshold from 180 s to 8 s and the
rule interval to 1 s; the rest is the files as shipped.

Each office probes loopback peers: a stun target answered by bench_stun_responder (so MOS is
measured) and a tcp target on a socket this script listens on; office 0 also has a tcp target
where nothing listens, so one site has an unhealthy target.

Every process is started here and stopped by PID; ports are free loopback ports.

usage: fleet_test.py AGENT_BINARY STUN_RESPONDER_BINARY [--offices N]
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fleet_support import (ROOT, Processes, free_ports, http_get, office_config,  # noqa: E402
                           query, wait_until)

SILENT_AFTER_S = 8


def fast_office_config(site, agent_port, central_port):
    """The office's config with 1 s scrapes and sends."""
    text = office_config(site, agent_port, f"http://127.0.0.1:{central_port}/api/v1/write")
    text = text.replace("scrape_interval: 15s", "scrape_interval: 1s")
    text = text.replace("scrape_timeout: 10s", "scrape_timeout: 1s")
    return text.replace("batch_send_deadline: 5s", "batch_send_deadline: 1s")


def central_config(work, central_port):
    """config/fleet/central.yml with the repository's rule files (the fleet rules' test copy
    with a short silence threshold) and 1 s evaluations."""
    with open(os.path.join(ROOT, "config", "fleet", "fleet-rules.yml")) as f:
        rules = f.read()
    rules = rules.replace("interval: 30s", "interval: 1s")
    rules, n = re.subn(r"\) > 180\n", f") > {SILENT_AFTER_S}\n", rules)
    assert n == 1, "fleet-rules.yml: the MediapathSiteSilent threshold moved; update the test"
    rules, n = re.subn(r"(- alert: MediapathSiteSilent\n(?:.*\n){2}\s*)for: 1m", r"\1for: 0s",
                       rules)
    assert n == 1, "fleet-rules.yml: MediapathSiteSilent's `for` moved; update the test"
    rules_path = os.path.join(work, "fleet-rules.yml")
    with open(rules_path, "w") as f:
        f.write(rules)
    with open(os.path.join(ROOT, "config", "fleet", "central.yml")) as f:
        text = f.read()
    text = text.replace("/etc/prometheus/mediapath-alerts.yml",
                        os.path.join(ROOT, "config", "alerts.yml"))
    text = text.replace("/etc/prometheus/fleet-rules.yml", rules_path)
    text = text.replace("evaluation_interval: 30s", "evaluation_interval: 1s")
    text = text.replace("scrape_interval: 30s", "scrape_interval: 1s")
    text = text.replace("127.0.0.1:9090", f"127.0.0.1:{central_port}")
    return text


def agent_config(site, responder_port, tcp_port, dead_port, unhealthy):
    targets = [
        {"name": "stun-a", "kind": "stun", "host": "127.0.0.1", "port": responder_port},
        {"name": "tcp-a", "kind": "tcp", "host": "127.0.0.1", "port": tcp_port},
    ]
    if unhealthy:
        targets.append({"name": "tcp-dead", "kind": "tcp", "host": "127.0.0.1",
                        "port": dead_port})
    return {"site": {"name": site},
            "probing": {"interval": "1s", "timeout": "300ms",
                        "burst": {"packets": 3, "spacing": "20ms"}},
            "targets": targets}


def serve_tcp(listener):
    """Accepts and closes every connection (the tcp probes' peer)."""
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        conn.close()


def check_dashboard(url, *args):
    cmd = [os.path.join(ROOT, "scripts", "check-dashboard"), url, *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    summary = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    print(f"  check-dashboard {' '.join(args)}: {summary}")
    if r.returncode != 0:
        print("\n".join(line for line in r.stdout.splitlines() if "FAIL" in line))
        raise AssertionError("check-dashboard failed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("agent")
    ap.add_argument("responder")
    ap.add_argument("--offices", type=int, default=10)
    args = ap.parse_args()
    n = args.offices
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="fleet-")
    procs = Processes(work)
    listener = socket.socket()
    ok = False
    try:
        ports = free_ports(3 + 2 * n)
        central_port, responder_port, dead_port = ports[:3]
        agent_ports, prom_ports = ports[3:3 + n], ports[3 + n:]
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        tcp_port = listener.getsockname()[1]
        threading.Thread(target=serve_tcp, args=(listener,), daemon=True).start()

        procs.start("responder", [args.responder, "--listen", f"127.0.0.1:{responder_port}"])
        central = f"http://127.0.0.1:{central_port}"
        with open(os.path.join(work, "central.yml"), "w") as f:
            f.write(central_config(work, central_port))
        procs.start("central", ["prometheus", "--web.enable-remote-write-receiver",
                                f"--config.file={work}/central.yml",
                                f"--storage.tsdb.path={work}/central-tsdb",
                                f"--web.listen-address=127.0.0.1:{central_port}"])

        sites = [f"office-{i:02d}" for i in range(n)]
        for i, site in enumerate(sites):
            path = os.path.join(work, f"{site}.json")
            with open(path, "w") as f:
                json.dump(agent_config(site, responder_port, tcp_port, dead_port, i == 0), f)
            procs.start(f"agent-{site}", [args.agent, "run", "--config", path,
                                          "--listen", f"127.0.0.1:{agent_ports[i]}",
                                          "--state-dir", os.path.join(work, f"{site}-state")])
            prom_path = os.path.join(work, f"{site}-prometheus.yml")
            with open(prom_path, "w") as f:
                f.write(fast_office_config(site, agent_ports[i], central_port))
            procs.start(f"prom-{site}", ["prometheus", "--enable-feature=agent",
                                         f"--config.file={prom_path}",
                                         f"--storage.agent.path={work}/{site}-wal",
                                         f"--web.listen-address=127.0.0.1:{prom_ports[i]}"])

        print(f"== {n} offices (agent + Prometheus agent each) -> central {central}")
        # Every site's MOS (stun answered) and the recording rules evaluated over it.
        wait_until(f"{n} sites in site:mediapath_probe_mos:min", lambda: len(
            query(central, "site:mediapath_probe_mos:min")) == n, 60, procs)
        print(f"  every site central after {time.monotonic() - started:.1f} s")

        print("== every site's series with its labels")
        info = query(central, "mediapath_site_info")
        seen = {r["metric"]["site"]: r["metric"] for r in info}
        assert sorted(seen) == sites, f"sites: {sorted(seen)}"
        for site, labels in seen.items():
            assert labels["instance"] == site and labels["job"] == "mediapath", labels
        per_site = query(central, 'count by (site, instance, job) '
                                  '({job="mediapath", __name__=~"mediapath_.*"})')
        counts = {r["metric"]["site"]: int(r["value"][1]) for r in per_site}
        for site in sites:
            assert site in counts and counts[site] > 0, f"no series from {site}"
        for r in per_site:
            assert r["metric"]["instance"] == r["metric"]["site"], r["metric"]
        print("  series per site:", ", ".join(f"{s}={counts[s]}" for s in sites))
        # office-00 has one more tcp target: 25 series more (docs/fleet.md, "Cardinality").
        others = {counts[s] for s in sites[1:]}
        assert len(others) == 1, f"offices with the same config differ: {counts}"
        assert counts[sites[0]] - others.pop() == 25, counts
        # No jitter/MOS series for tcp targets, centrally either.
        bad = query(central, 'mediapath_probe_mos{kind="tcp"} or '
                             'mediapath_probe_jitter_seconds{kind="tcp"}')
        assert not bad, f"tcp targets with MOS/jitter series: {bad}"

        print("== recording rules: one series per site")
        for record in ("site:mediapath_site_info:max", "site:mediapath_probe_mos:min",
                       "site:mediapath_probe_loss_ratio:max",
                       "site:mediapath_failovers:increase24h", "site:mediapath_failover_panic:max",
                       "site:mediapath_targets_unhealthy:count", "site:mediapath_targets:count",
                       "site:mediapath_last_seen:timestamp_seconds"):
            wait_until(record, lambda r=record: len(query(central, r)) == n, 20, procs)
        wait_until("office-00's dead tcp target unhealthy", lambda: float(query(
            central, 'site:mediapath_targets_unhealthy:count{site="office-00"}')[0]["value"][1])
            == 1, 20, procs)
        unhealthy = {r["metric"]["site"]: float(r["value"][1])
                     for r in query(central, "site:mediapath_targets_unhealthy:count")}
        assert all(unhealthy[s] == 0 for s in sites[1:]), unhealthy
        mos = {r["metric"]["site"]: float(r["value"][1])
               for r in query(central, "site:mediapath_probe_mos:min")}
        assert all(4.0 < m <= 4.5 for m in mos.values()), mos
        print(f"  worst MOS per site {min(mos.values()):.2f}-{max(mos.values()):.2f}")

        print("== dashboards against the central Prometheus")
        check_dashboard(central, "--fleet", "--require-data")
        # The drill-down: the per-site dashboard and config/alerts.yml on central data.
        check_dashboard(central, "--set", "site=office-03")

        print("== every rule evaluates without error")
        rules = [r for g in json.loads(http_get(central + "/api/v1/rules"))["data"]["groups"]
                 for r in g["rules"]]
        bad = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
        assert not bad, bad
        print(f"  {len(rules)} rules ok")
        silent = query(central, 'ALERTS{alertname="MediapathSiteSilent"}')
        assert not silent, f"silent sites before any office stopped: {silent}"

        print("== stop office-05's Prometheus agent")
        stopped = sites[min(5, n - 1)]
        procs.stop(f"prom-{stopped}")
        t0 = time.monotonic()
        firing = wait_until(f"MediapathSiteSilent for {stopped}", lambda: query(
            central, 'ALERTS{alertname="MediapathSiteSilent", alertstate="firing"}'), 30, procs)
        print(f"  firing after {time.monotonic() - t0:.1f} s:",
              [a["metric"]["site"] for a in firing])
        assert [a["metric"]["site"] for a in firing] == [stopped], firing
        assert firing[0]["metric"]["severity"] == "critical", firing
        ok = True
        print(f"fleet_test: OK ({n} offices, {time.monotonic() - started:.1f} s)")
        return 0
    except AssertionError as err:
        print(f"fleet_test: FAILED: {err}", file=sys.stderr)
        for name in ("central", "prom-office-00", "agent-office-00"):
            if name in procs.procs:
                print(f"--- {name}.log (tail)\n{procs.log_tail(name)}", file=sys.stderr)
        return 1
    finally:
        listener.close()
        t0 = time.monotonic()
        # The office Prometheus agents first: on SIGTERM each flushes its remote_write queue,
        # which waits (up to a minute) for a central Prometheus that is already gone.
        procs.stop_all("prom-")
        procs.stop_all()
        print(f"  every process stopped in {time.monotonic() - t0:.1f} s")
        if ok or not os.environ.get("FLEET_TEST_KEEP"):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
