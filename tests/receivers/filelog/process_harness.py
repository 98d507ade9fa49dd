"""Whole-process helpers: the real CLI (`python -m collector run`), the real otlp exporter and
the in-process sink; a writer of sequence-numbered CRI lines; delivery accounting."""
from __future__ import annotations

import collections
import os
import threading
import time

from collector.sink import Sink
from tests.e2e.agent_process import AgentProcess

POD = "ns1_pod-a_0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


def config_yaml(root, endpoint: str, *, start_at="end", compression="none", extra_receiver="") -> str:
    return f"""
receivers:
  filelog:
    include: [{root}/pods/*/*/*.log]
    start_at: {start_at}
    poll_interval: 50ms
    storage: file_storage
    retry_on_failure: {{enabled: true, initial_interval: 100ms, max_interval: 1s}}
    operators: [{{type: container, id: container-parser}}]
{extra_receiver}
processors:
  batch: {{timeout: 100ms}}
exporters:
  otlp:
    endpoint: {endpoint}
    tls: {{insecure: true}}
    compression: {compression}
    retry_on_failure: {{initial_interval: 200ms, max_interval: 1s, max_elapsed_time: 0s}}
extensions:
  file_storage: {{directory: {root}/state, create_directory: true}}
service:
  extensions: [file_storage]
  telemetry: {{metrics: {{level: none}}}}
  pipelines:
    logs: {{receivers: [filelog], processors: [batch], exporters: [otlp]}}
"""


def start_agent(root, endpoint: str, **kw) -> AgentProcess:
    path = os.path.join(root, "agent.yaml")
    with open(path, "w") as f:
        f.write(config_yaml(root, endpoint, **kw))
    a = AgentProcess(path).start()
    if not a.wait_for_line("Everything started", 30):
        a.kill()
        raise AssertionError("agent did not start:\n" + a.output[-3000:])
    return a


def pod_log(root, container="app", name="0.log") -> str:
    d = os.path.join(root, "pods", POD, container)
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, name)


def cri_lines(start: int, stop: int, prefix: str = "seq") -> str:
    return "".join(f"2026-12-03T10:15:{i // 1_000_000 % 60:02d}.{i % 1_000_000:09d}Z stdout F {prefix} {i}\n"
                   for i in range(start, stop))


def delivered(sink: Sink) -> collections.Counter:
    """Counter of bodies accepted by the sink."""
    c: collections.Counter = collections.Counter()
    for req in sink.messages("logs"):
        for rl in req.resource_logs:
            for sl in rl.scope_logs:
                for lr in sl.log_records:
                    c[lr.body.string_value] += 1
    return c


def accounting(counter: collections.Counter, expected: list[str]) -> tuple[int, int]:
    """(lost, duplicated) against the expected bodies."""
    lost = sum(1 for b in expected if counter[b] == 0)
    dup = sum(n - 1 for n in counter.values() if n > 1)
    return lost, dup


class SeqWriter:
    """Appends sequence-numbered lines at a steady rate from a thread; optionally rotates the
    file (rename + create, as the kubelet does) every rotate_every seconds."""

    def __init__(self, path: str, rate: int, rotate_every: float = 0.0, prefix: str = "seq") -> None:
        self.path, self.rate, self.rotate_every, self.prefix = path, rate, rotate_every, prefix
        self.n = 0
        self.rotations = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "SeqWriter":
        self._t.start()
        return self

    def _run(self) -> None:
        f = open(self.path, "a")
        last_rot = time.monotonic()
        tick = 0.02
        per_tick = max(1, int(self.rate * tick))
        while not self._stop.is_set():
            f.write(cri_lines(self.n, self.n + per_tick, self.prefix))
            f.flush()
            self.n += per_tick
            if self.rotate_every and time.monotonic() - last_rot >= self.rotate_every:
                f.close()
                self.rotations += 1
                os.rename(self.path, f"{self.path}.2026120{self.rotations % 10}-{self.rotations:06d}")
                f = open(self.path, "a")
                last_rot = time.monotonic()
            self._stop.wait(tick)
        f.close()

    def stop(self) -> int:
        self._stop.set()
        self._t.join(10)
        return self.n
