#!/usr/bin/env python3
"""One office of the fleet shape, measured, and a 1,000-office fleet computed from it.

An office = the built `mediapath-agent run` probing 20 STUN targets every 5 s (answered by
bench_stun_responder) + Prometheus in agent mode with config/fleet/office-agent.yml as shipped
(15 s scrapes, remote_write queue settings) pushing to a central Prometheus with the
remote-write receiver, all on loopback. After a warm-up, over a window of
MEDIAPATH_BENCH_FLEET_SECONDS (default 120):
  - remote_write bandwidth: growth of the office Prometheus' prometheus_remote_storage_bytes_total
    (compressed payload) + _metadata_bytes_total, per second;
  - samples sent per second (prometheus_remote_storage_samples_total), next to the figure
    computed from the series count (the baseline: series / scrape interval);
  - CPU (% of one core, utime+stime from /proc/PID/stat over wall time) and RSS (VmRSS, VmHWM)
    of the agent and of the Prometheus agent.
Then for MEDIAPATH_BENCH_FLEET_OFFICES (default 1,000) offices: central series, samples/s and
ingest bandwidth. Method and figures: bench/README.md.

usage: bench/fleet_bench.py BUILD_DIR
"""

import json
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "fleet"))
from fleet_support import (Processes, free_ports, http_get, office_config,  # noqa: E402
                           query, wait_until)

TARGETS = 20
SCRAPE_S = 15  # office-agent.yml's scrape_interval


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        status = dict(line.split(":", 1) for line in f)
    return (int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024)


def counter(text, name):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rpartition(" ")[2])
    return total


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    build = sys.argv[1]
    seconds = int(os.environ.get("MEDIAPATH_BENCH_FLEET_SECONDS", "120"))
    offices = int(os.environ.get("MEDIAPATH_BENCH_FLEET_OFFICES", "1000"))
    work = tempfile.mkdtemp(prefix="fleet-bench-")
    procs = Processes(work)
    try:
        central_port, responder_port, agent_port, office_port = free_ports(4)
        procs.start("responder", [os.path.join(build, "bench", "bench_stun_responder"),
                                  "--listen", f"127.0.0.1:{responder_port}"])
        central = f"http://127.0.0.1:{central_port}"
        with open(os.path.join(work, "central.yml"), "w") as f:
            f.write("global: {scrape_interval: 15s}\n")
        procs.start("central", ["prometheus", "--web.enable-remote-write-receiver",
                                f"--config.file={work}/central.yml",
                                f"--storage.tsdb.path={work}/central-tsdb",
                                f"--web.listen-address=127.0.0.1:{central_port}"])
        config = {"site": {"name": "bench-office"}, "probing": {"interval": "5s"},
                  "targets": [{"name": f"stun-{i:02d}", "kind": "stun", "host": "127.0.0.1",
                               "port": responder_port} for i in range(TARGETS)]}
        with open(os.path.join(work, "agent.json"), "w") as f:
            json.dump(config, f)
        agent = procs.start("agent", [os.path.join(build, "agent", "cli", "mediapath-agent"),
                                      "run", "--config", f"{work}/agent.json",
                                      "--listen", f"127.0.0.1:{agent_port}",
                                      "--state-dir", f"{work}/state"])
        # The shipped file, but plain HTTP on loopback (no TLS/basic auth to set up).
        office = office_config("bench-office", agent_port, f"{central}/api/v1/write")
        with open(os.path.join(work, "office.yml"), "w") as f:
            f.write(office)
        prom = procs.start("office", ["prometheus", "--enable-feature=agent",
                                      f"--config.file={work}/office.yml",
                                      f"--storage.agent.path={work}/office-wal",
                                      f"--web.listen-address=127.0.0.1:{office_port}"])
        office_url = f"http://127.0.0.1:{office_port}/metrics"

        # Warm-up: two scrapes arrived centrally (the first one also sends the metadata).
        wait_until("two scrapes centrally", lambda: query(
            central, 'count_over_time(up{site="bench-office"}[5m]) >= 2'), 90, procs)
        series = int(query(central, 'count({site="bench-office"})')[0]["value"][1])
        agent_series = int(query(central, 'count({site="bench-office", '
                                          '__name__=~"mediapath_.*"})')[0]["value"][1])

        def snapshot():
            text = http_get(office_url)
            return {"t": time.monotonic(),
                    "bytes": counter(text, "prometheus_remote_storage_bytes_total"),
                    "meta": counter(text, "prometheus_remote_storage_metadata_bytes_total"),
                    "samples": counter(text, "prometheus_remote_storage_samples_total"),
                    "agent_cpu": cpu_seconds(agent.pid), "prom_cpu": cpu_seconds(prom.pid)}

        print(f"== {time.strftime('%FT%TZ', time.gmtime())} on {os.cpu_count()} cores, "
              f"load average {open('/proc/loadavg').read().split()[:3]}")
        print(f"office: {TARGETS} STUN targets at 5 s, Prometheus agent scraping every "
              f"{SCRAPE_S} s; measuring {seconds} s")
        a = snapshot()
        time.sleep(seconds)
        procs.check_running()
        b = snapshot()
        wall = b["t"] - a["t"]
        payload = (b["bytes"] - a["bytes"]) / wall
        meta = (b["meta"] - a["meta"]) / wall
        samples = (b["samples"] - a["samples"]) / wall
        computed = series / SCRAPE_S
        agent_cpu = 100 * (b["agent_cpu"] - a["agent_cpu"]) / wall
        prom_cpu = 100 * (b["prom_cpu"] - a["prom_cpu"]) / wall
        agent_rss, agent_peak = rss_mib(agent.pid)
        prom_rss, prom_peak = rss_mib(prom.pid)
        per_sample = (payload / samples) if samples else float("nan")

        print(f"series per office: {series} ({agent_series} mediapath_*, "
              f"{series - agent_series} exposer_* and the scrape's own up, scrape_*)")
        print(f"samples sent: {samples:.2f}/s measured, {computed:.2f}/s computed "
              f"(series / {SCRAPE_S} s; ratio {samples / computed:.3f})")
        print(f"remote_write: {payload:.0f} B/s payload + {meta:.0f} B/s metadata "
              f"({8 * (payload + meta) / 1000:.2f} kbit/s, {per_sample:.2f} B/sample compressed)")
        print(f"agent:            CPU {agent_cpu:.3f} % of one core, RSS {agent_rss:.1f} MiB "
              f"(peak {agent_peak:.1f})")
        print(f"Prometheus agent: CPU {prom_cpu:.3f} % of one core, RSS {prom_rss:.1f} MiB "
              f"(peak {prom_peak:.1f})")
        fleet_series = series * offices
        fleet_samples = computed * offices
        fleet_bw = (payload + meta) * offices
        print(f"fleet of {offices} offices: {fleet_series:,} active series centrally, "
              f"{fleet_samples:,.0f} samples/s ingested, {8 * fleet_bw / 1e6:.2f} Mbit/s "
              f"remote_write into the centre")
        print(json.dumps({"bench": "fleet", "targets": TARGETS, "seconds": round(wall, 1),
                          "series_per_office": series, "agent_series": agent_series,
                          "samples_per_s": round(samples, 3),
                          "samples_per_s_computed": round(computed, 3),
                          "remote_write_bytes_per_s": round(payload + meta, 1),
                          "agent_cpu_percent": round(agent_cpu, 4),
                          "agent_rss_mib": round(agent_rss, 1),
                          "prometheus_agent_cpu_percent": round(prom_cpu, 4),
                          "prometheus_agent_rss_mib": round(prom_rss, 1),
                          "offices": offices, "fleet_series": fleet_series,
                          "fleet_samples_per_s": round(fleet_samples),
                          "fleet_remote_write_mbit_s": round(8 * fleet_bw / 1e6, 3)}))
        return 0
    finally:
        procs.stop_all("office")  # flushes its queue to the centre, so before the centre
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
