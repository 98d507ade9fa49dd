"""Benchmark: container log lines end to end (filelog -> batch -> otlp exporter -> sink).

Writes 200k CRI lines (~120 bytes, 5% partial) across several pod log files, runs the real agent
process (`python -m collector run`, pinned to one core) with start_at: beginning, and prints
lines/s, CPU seconds and peak RSS, for compression none and gzip. Then runs the OpenTelemetry
Python SDK logs path (LoggerProvider + BatchLogRecordProcessor + OTLPLogExporter, sized to drop
nothing) on the same lines, to the same sink, on one core, and prints the ratio.
Figures are printed, never asserted:  pytest -m bench -s tests/benchmarks/bench_filelog.py
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import threading
import time

import psutil
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from collector.sink import Sink  # noqa: E402
from tests.receivers.filelog.process_harness import POD, config_yaml  # noqa: E402

TOTAL_LINES = 200_000
FILES = 8
PARTIAL_SHARE = 0.05


def write_files(root: str) -> tuple[int, list[str]]:
    """CRI lines of ~120 bytes; 5% are `P` parts of the next line. Returns (records, paths)."""
    rnd = random.Random(7)
    paths, records = [], 0
    per_file = TOTAL_LINES // FILES
    for k in range(FILES):
        d = os.path.join(root, "pods", POD.replace("pod-a", f"pod-{k}"), "app")
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "0.log")
        out = []
        for i in range(per_file):
            tag = "P" if rnd.random() < PARTIAL_SHARE and i < per_file - 1 else "F"
            records += tag == "F"
            ts = f"2026-12-03T10:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000 * 1000 + k:09d}Z"
            out.append(f"{ts} stdout {tag} GET /api/v1/items/{i:08d} status=200 bytes={rnd.randint(100, 99999):05d} "
                       f"user=u{rnd.randint(0, 999):03d} dur={rnd.randint(1, 999):03d}ms region=eu-1\n")
        with open(path, "w") as f:
            f.write("".join(out))
        paths.append(path)
    return records, paths


def run_agent(root: str, sink: Sink, records: int, compression: str) -> dict:
    state = os.path.join(root, "state")
    if os.path.isdir(state):
        for name in os.listdir(state):
            os.unlink(os.path.join(state, name))
    cfg = os.path.join(root, f"agent-{compression}.yaml")
    with open(cfg, "w") as f:
        f.write(config_yaml(root, sink.grpc_endpoint, start_at="beginning", compression=compression))
    sink.clear()
    proc = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-m", "collector", "run", "--config", cfg],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    p = psutil.Process(proc.pid)
    try:
        # The clock starts when the service says it started (reading begins right then), so
        # interpreter start-up and imports are not counted.
        for line in proc.stdout:
            if "Everything started" in line:
                break
        t0 = time.monotonic()
        c = p.cpu_times()
        cpu0 = c.user + c.system
        sink_cpu0 = time.process_time()
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        peak = 0
        deadline = t0 + 300
        while sink.count("logs") < records and time.monotonic() < deadline:
            peak = max(peak, p.memory_info().rss)
            sink.wait_for(lambda s: s.count("logs") >= records, 0.1)
        t1 = time.monotonic()
        c = p.cpu_times()
        peak = max(peak, p.memory_info().rss)
        got = sink.count("logs")
        return {"records": got, "seconds": t1 - t0, "cpu": c.user + c.system - cpu0, "rss": peak,
                "rate": TOTAL_LINES / (t1 - t0), "sink_cpu": time.process_time() - sink_cpu0}
    finally:
        proc.terminate()
        proc.wait(30)


SDK_SCRIPT = r"""
import sys, time
from opentelemetry._logs import LogRecord
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
endpoint, paths = sys.argv[1], sys.argv[2:]
provider = LoggerProvider()
# Sized so a burst is never dropped (the defaults, queue 2048, drop about a third of one).
provider.add_log_record_processor(BatchLogRecordProcessor(
    OTLPLogExporter(endpoint=endpoint, insecure=True), max_queue_size=400000,
    max_export_batch_size=2048, schedule_delay_millis=100))
logger = provider.get_logger("bench")
print("ready", flush=True)
for path in paths:
    attrs = {"log.file.name": "0.log"}
    pending = []
    with open(path, "rb") as f:
        for line in f:
            ts, stream, tag, msg = line.rstrip(b"\n").split(b" ", 3)
            if tag == b"P":
                pending.append(msg)
                continue
            if pending:
                msg = b"".join(pending) + msg
                pending = []
            logger.emit(LogRecord(timestamp=time.time_ns(), body=msg.decode(),
                                  attributes={"log.iostream": stream.decode(), "logtag": "F", **attrs}))
provider.force_flush(600000)
provider.shutdown()
"""


def run_sdk(paths: list[str], sink: Sink, records: int) -> dict:
    sink.clear()
    proc = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-c", SDK_SCRIPT, sink.grpc_endpoint, *paths],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    p = psutil.Process(proc.pid)
    proc.stdout.readline()  # "ready": imports and set-up are not counted, as for the agent
    t0 = time.monotonic()
    c = p.cpu_times()
    cpu0, cpu, peak = c.user + c.system, 0.0, 0
    while proc.poll() is None and time.monotonic() - t0 < 600:
        try:
            peak = max(peak, p.memory_info().rss)
            c = p.cpu_times()
            cpu = c.user + c.system - cpu0
        except psutil.Error:
            break
        time.sleep(0.05)
    proc.wait(600)
    sink.wait_for(lambda s: s.count("logs") >= records, 30)
    t1 = time.monotonic()
    got = sink.count("logs")
    return {"records": got, "seconds": t1 - t0, "cpu": cpu, "rss": peak, "rate": TOTAL_LINES / (t1 - t0)}


def run_steady(root: str, sink: Sink, rate: int = 10_000, seconds: float = 20.0) -> dict:
    """The agent following one file written at a steady rate: peak RSS and CPU share."""
    from tests.receivers.filelog.process_harness import SeqWriter, pod_log, start_agent
    sink.clear()
    steady_root = os.path.join(root, "steady")
    os.makedirs(steady_root)
    agent = start_agent(steady_root, sink.grpc_endpoint)
    p = psutil.Process(agent.proc.pid)
    w = SeqWriter(pod_log(steady_root), rate=rate).start()
    try:
        time.sleep(2.0)  # settle
        c = p.cpu_times()
        cpu0, t0, peak = c.user + c.system, time.monotonic(), 0
        while time.monotonic() - t0 < seconds:
            peak = max(peak, p.memory_info().rss)
            time.sleep(0.25)
        c = p.cpu_times()
        cpu = c.user + c.system - cpu0
        elapsed = time.monotonic() - t0
        n = w.stop()
        sink.wait_for(lambda s: s.count("logs") >= n, 30)
        return {"written": n, "delivered": sink.count("logs"), "rss": peak, "cpu_share": cpu / elapsed}
    finally:
        w.stop()
        agent.terminate()
        agent.kill()


def show(name: str, r: dict) -> None:
    print(f"{name:<22} records={r['records']:>7} wall={r['seconds']:6.2f}s lines/s={r['rate']:>9.0f} "
          f"cpu={r['cpu']:6.2f}s peak_rss={r['rss'] / 2**20:6.1f}MiB"
          + (f" (sink cpu {r['sink_cpu']:.2f}s)" if "sink_cpu" in r else ""))


@pytest.mark.bench
def test_filelog_end_to_end_throughput():
    try:
        os.sched_setaffinity(0, {1})  # the sink (this process) on the other core
    except (AttributeError, OSError):
        pass
    with tempfile.TemporaryDirectory() as root, Sink(grpc="127.0.0.1:0", http=None, max_kept=0) as sink:
        records, paths = write_files(root)
        print(f"\n{TOTAL_LINES} CRI lines in {FILES} files -> {records} records "
              f"(avg {sum(os.path.getsize(p) for p in paths) / TOTAL_LINES:.0f} bytes/line)")
        none = run_agent(root, sink, records, "none")
        show("agent compression=none", none)
        gz = run_agent(root, sink, records, "gzip")
        show("agent compression=gzip", gz)
        sdk = run_sdk(paths, sink, records)
        show("otel python sdk", sdk)
        print(f"ratio agent(none)/sdk lines/s = {none['rate'] / sdk['rate']:.1f}x")
        st = run_steady(root, sink)
        print(f"steady 10k lines/s for 20 s: written={st['written']} delivered={st['delivered']} "
              f"peak_rss={st['rss'] / 2**20:.1f}MiB cpu={st['cpu_share'] * 100:.0f}% of one core")
