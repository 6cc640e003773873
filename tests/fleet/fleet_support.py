"""What the fleet tests share: free loopback ports, processes stopped by PID, HTTP GETs, an
exposition parser. Standard library only."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def office_config(site, agent_port, write_url):
    """config/fleet/office-agent.yml for one office on loopback: its names filled in, and plain
    HTTP to write_url (the basic_auth/tls_config placeholders dropped)."""
    with open(os.path.join(ROOT, "config", "fleet", "office-agent.yml")) as f:
        text = f.read()
    text = re.sub(r"(?ms)^    basic_auth:.*?(?=^    queue_config:)", "", text)
    text = text.replace("frankfurt-office", site)
    text = text.replace("127.0.0.1:9464", f"127.0.0.1:{agent_port}")
    text = text.replace("https://metrics.example.net/api/v1/write", write_url)
    for placeholder in ("frankfurt-office", "example.net", "password_file", "ca_file"):
        assert placeholder not in text, f"office config still has {placeholder!r}"
    return text


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (bound together, then released)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Processes:
    """Every process a test starts, stopped by PID (SIGTERM, then SIGKILL) when it ends."""

    def __init__(self, work):
        self.work = work
        self.procs = {}

    def start(self, name, argv, env=None):
        log = open(os.path.join(self.work, name + ".log"), "wb")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                env=dict(os.environ, **(env or {})), start_new_session=True)
        self.procs[name] = proc
        return proc

    def stop(self, name, timeout=10):
        proc = self.procs.pop(name)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def check_running(self):
        dead = [n for n, p in self.procs.items() if p.poll() is not None]
        if dead:
            raise AssertionError(f"exited early: {dead}; see {self.log_tail(dead[0])}")

    def log_tail(self, name, lines=15):
        try:
            with open(os.path.join(self.work, name + ".log"), errors="replace") as f:
                return "\n".join(f.read().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop_all(self, prefix="", timeout=15):
        """SIGTERM to every process (whose name starts with prefix) at once, then wait for them
        all (SIGKILL after timeout)."""
        procs = {n: p for n, p in self.procs.items() if n.startswith(prefix)}
        self.procs = {n: p for n, p in self.procs.items() if n not in procs}
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        slow = []
        for name, proc in procs.items():
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                slow.append(name)
                proc.kill()
                proc.wait()
        if slow:
            print(f"killed after {timeout} s without stopping on SIGTERM: {slow}")


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def query(base, expr):
    """An instant query's result vector from a Prometheus at base."""
    body = http_get(base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    data = json.loads(body)
    if data.get("status") != "success":
        raise AssertionError(f"{expr}: {body}")
    return data["data"]["result"]


def wait_until(what, predicate, timeout, procs=None, step=0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if procs:
            procs.check_running()
        try:
            last = predicate()
            if last:
                return last
        except (OSError, ValueError, KeyError) as err:
            last = err
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def series(exposition):
    """(name, labels text, value text) of every sample line of a text exposition."""
    out = []
    for line in exposition.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, brace, labels = head.partition("{")
        out.append((name, brace + labels, value))
    return out
