"""Overhead of the eBPF APM agent on a local HTTP server under load (issues 7 and 8).

Run: .venv/bin/pytest -m bench -s tests/benchmarks/bench_apm.py
     (APM_BENCH_SECONDS=8 per wrk run, APM_BENCH_ROUNDS=2 rounds of off/tcp/http)

The agent runs as its own process (`python -m collector run`) with the apm receiver, so its CPU
and RSS are its own. Load: `wrk` (Debian package) with keep-alive connections against a Python
http.server. Prints requests/s with the agent off, with TCP metrics only, and with HTTP capture,
their ratios to "off", agent CPU per 1k requests and RSS. Never asserts timings.
"""
from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import pytest

from collector.testing import free_port

pytestmark = pytest.mark.bench

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKLOAD = os.path.join(ROOT, "tests", "ebpf", "http_workload.py")
SECONDS = int(os.environ.get("APM_BENCH_SECONDS", "8"))
ROUNDS = int(os.environ.get("APM_BENCH_ROUNDS", "2"))
CLK_TCK = os.sysconf("SC_CLK_TCK")

AGENT_CONFIG = """
receivers:
  apm:
    collection_interval: 2s
    ebpf: {{http_capture: {http}}}
exporters:
  debug: {{verbosity: basic}}
service:
  telemetry: {{metrics: {{address: "127.0.0.1:{port}"}}}}
  pipelines:
    metrics: {{receivers: [apm], exporters: [debug]}}
"""


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def start_agent(tmp: str, http: bool) -> subprocess.Popen:
    cfg = os.path.join(tmp, f"apm-{http}.yaml")
    with open(cfg, "w") as f:
        f.write(AGENT_CONFIG.format(http=str(http).lower(), port=free_port()))
    log = open(os.path.join(tmp, f"agent-{http}.log"), "w+")
    proc = subprocess.Popen([sys.executable, "-m", "collector", "run", "--config", cfg],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        log.seek(0)
        text = log.read()
        if "eBPF tracer loaded" in text:
            return proc
        if "disabled" in text or proc.poll() is not None:
            proc.kill()
            pytest.skip(f"agent cannot load BPF here: {text[-500:]}")
        time.sleep(0.2)
    proc.kill()
    pytest.fail("agent did not load in 90 s")


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def wrk(port: int) -> float:
    out = subprocess.run(["wrk", "-t1", "-c16", f"-d{SECONDS}s", f"http://127.0.0.1:{port}/status/200"],
                         capture_output=True, text=True, timeout=SECONDS + 30).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert m, out
    return float(m.group(1))


def test_agent_overhead_on_http_server_under_load():
    if not shutil.which("wrk"):
        pytest.skip("wrk not installed (apt-get install wrk)")
    tmp = tempfile.mkdtemp(prefix="bench-apm-")
    portfile = os.path.join(tmp, "port")
    # stderr: wrk resets its connections at the end of each run, which http.server reports
    server = subprocess.Popen([sys.executable, WORKLOAD, "server", portfile, "3600"],
                              env=dict(os.environ, OTEL_SERVICE_NAME="bench-server"),
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(portfile) and time.monotonic() < deadline:
            time.sleep(0.05)
        port = int(open(portfile).read())
        wrk(port)  # warm-up
        results: dict[str, list[tuple[float, float, float]]] = {"off": [], "tcp": [], "http": []}
        for r in range(ROUNDS):
            # alternate the order so that drift (other load, caches) does not favour one mode
            for mode in ("off", "tcp", "http") if r % 2 == 0 else ("http", "tcp", "off"):
                agent = None if mode == "off" else start_agent(tmp, mode == "http")
                try:
                    if agent:
                        time.sleep(2)  # first /proc scan and collection settle
                        cpu0 = cpu_seconds(agent.pid)
                    # Workload CPU (server + wrk) per request: BPF programs run in the traced
                    # processes' syscalls, so this shows the in-kernel cost, and it is far
                    # less sensitive than req/s to other load on a shared machine.
                    w0 = cpu_seconds(server.pid) + children_cpu()
                    rps = wrk(port)
                    work_us = (cpu_seconds(server.pid) + children_cpu() - w0) / (rps * SECONDS) * 1e6
                    cpu = cpu_seconds(agent.pid) - cpu0 if agent else 0.0
                    rss = rss_mib(agent.pid) if agent else 0.0
                    results[mode].append((rps, cpu, rss, work_us))
                finally:
                    if agent:
                        agent.send_signal(signal.SIGTERM)
                        agent.wait(30)
        base = statistics.median(r[0] for r in results["off"])
        base_work = statistics.median(r[3] for r in results["off"])
        print(f"\nbench_apm: wrk -t1 -c16 -d{SECONDS}s against python http.server, {ROUNDS} rounds, "
              f"{os.cpu_count()} CPUs")
        print(f"  agent off          : {base:9.0f} req/s  workload CPU {base_work:6.1f} us/request")
        for mode, label in (("tcp", "agent, TCP only   "), ("http", "agent, TCP + HTTP ")):
            rps = statistics.median(r[0] for r in results[mode])
            cpu = statistics.median(r[1] for r in results[mode])
            rss = max(r[2] for r in results[mode])
            work = statistics.median(r[3] for r in results[mode])
            per_1k = cpu / (rps * SECONDS / 1000) if rps else 0.0
            print(f"  {label}: {rps:9.0f} req/s  ratio {rps / base:5.3f}  workload CPU {work:6.1f} us/request "
                  f"(efficiency {base_work / work:5.3f})  agent CPU {cpu / SECONDS * 100:5.1f}% of one core, "
                  f"{per_1k * 1000:6.2f} ms per 1k requests, RSS {rss:6.1f} MiB")
    finally:
        server.kill()
        server.wait(5)


SYSCALL_LOOP = r"""
import socket, sys, time
n = int(sys.argv[1])
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(1)
a = socket.create_connection(ls.getsockname()); b, _ = ls.accept()
payload = b"GET /x HTTP/1.1\r\n\r\n" if sys.argv[2] == "http" else b"x" * 19
t0 = time.process_time()
for _ in range(n):
    a.send(payload)
    b.recv(64)
print((time.process_time() - t0) / n * 1e9)
"""


def syscall_pair_ns(kind: str, n: int) -> float:
    out = subprocess.run([sys.executable, "-c", SYSCALL_LOOP, str(n), kind], capture_output=True,
                         text=True, timeout=120, env=dict(os.environ, OTEL_SERVICE_NAME="bench-loop"))
    return float(out.stdout.strip())


def test_in_kernel_cost_per_traced_syscall():
    """CPU of one send()+recv() pair on a traced TCP connection, without and with the agent:
    the BPF programs run inside these syscalls, so the difference is their cost. Process CPU
    time, so other load on the machine matters much less than for req/s."""
    tmp = tempfile.mkdtemp(prefix="bench-apm-")
    n = int(os.environ.get("APM_BENCH_SYSCALLS", "200000"))
    rows = []
    for mode in ("off", "tcp", "http"):
        agent = None if mode == "off" else start_agent(tmp, mode == "http")
        try:
            if agent:
                time.sleep(2)
            rows.append((mode, [statistics.median(syscall_pair_ns(k, n) for _ in range(3))
                                for k in ("data", "http")]))
        finally:
            if agent:
                agent.send_signal(signal.SIGTERM)
                agent.wait(30)
    base = rows[0][1]
    print(f"\nbench_apm: CPU per send()+recv() pair on loopback TCP, {n} pairs, median of 3")
    for mode, (data_ns, http_ns) in rows:
        print(f"  agent {mode:4}: non-HTTP payload {data_ns:7.0f} ns (+{data_ns - base[0]:5.0f}), "
              f"HTTP request payload {http_ns:7.0f} ns (+{http_ns - base[1]:5.0f})")
