"""Exporter test harness: a host, and exporters built from YAML-shaped config dicts through the
real config decoder (so keys and defaults are checked), plus request and ack helpers."""
from __future__ import annotations

import logging
import threading
import time

from collector.component import ComponentID, CreateSettings, Payload
from collector.config import decode
from collector.pdata import REQUEST_TYPES
from collector.telemetry import Telemetry


class FakeHost:
    def __init__(self, telemetry: Telemetry, extensions: dict | None = None) -> None:
        self.telemetry = telemetry
        self.extensions = extensions or {}
        self.statuses: list[tuple[str, bool, str]] = []

    def get_extension(self, component_id: str):
        if component_id not in self.extensions:
            raise KeyError(f"extension {component_id!r} is not configured")
        return self.extensions[component_id]

    def report_status(self, component_id: str, healthy: bool, message: str = "") -> None:
        self.statuses.append((component_id, healthy, message))


class Built:
    """An exporter under test, with what a test wants to look at."""

    def __init__(self, exporter, host: FakeHost, telemetry: Telemetry, cid: str) -> None:
        self.exporter = exporter
        self.host = host
        self.telemetry = telemetry
        self.cid = cid

    def metric(self, name: str, **labels) -> float:
        return self.telemetry.value(name, {"exporter": self.cid, **labels})

    def shutdown(self, grace: float = 5.0) -> None:
        self.exporter.shutdown(time.monotonic() + grace)


def make_exporter(factory, raw: dict, cid: str | None = None, signals=("logs", "metrics", "traces"),
                  extensions: dict | None = None, start: bool = True, logger_name: str | None = None) -> Built:
    cid = cid or factory.type
    config = decode(factory.config_class, raw, f"exporters.{cid}")
    telemetry = Telemetry()
    settings = CreateSettings(id=ComponentID.parse(cid), kind="exporter",
                              logger=logging.getLogger(logger_name or f"collector.exporter.{cid}"),
                              telemetry=telemetry.component("exporter", cid))
    exporter = factory.create(settings, config, frozenset(signals))
    host = FakeHost(telemetry, extensions)
    if start:
        exporter.start(host)
    return Built(exporter, host, telemetry, cid)


def spans_request(n: int = 3, name: str = "op"):
    req = REQUEST_TYPES["traces"]()
    rs = req.resource_spans.add()
    attr = rs.resource.attributes.add()
    attr.key, attr.value.string_value = "service.name", "exporter-test"
    ss = rs.scope_spans.add()
    for i in range(n):
        span = ss.spans.add()
        span.name = f"{name}-{i}"
        span.trace_id = bytes([1] * 16)
        span.span_id = (i + 1).to_bytes(8, "big")
    return req


def logs_request(n: int = 2, body: str = "hello"):
    req = REQUEST_TYPES["logs"]()
    sl = req.resource_logs.add().scope_logs.add()
    for i in range(n):
        sl.log_records.add().body.string_value = f"{body}-{i}"
    return req


def metrics_request(points: int = 2):
    req = REQUEST_TYPES["metrics"]()
    m = req.resource_metrics.add().scope_metrics.add().metrics.add()
    m.name = "test.gauge"
    for i in range(points):
        m.gauge.data_points.add().as_int = i
    return req


class AckRecorder:
    """Collects ack outcomes; `wait(n)` blocks (bounded) until n acks arrived."""

    def __init__(self) -> None:
        self.results: list[bool] = []
        self._cond = threading.Condition()

    def __call__(self, delivered: bool) -> None:
        with self._cond:
            self.results.append(delivered)
            self._cond.notify_all()

    def wait(self, n: int = 1, timeout: float = 10.0) -> list[bool]:
        end = time.monotonic() + timeout
        with self._cond:
            while len(self.results) < n and time.monotonic() < end:
                self._cond.wait(end - time.monotonic())
            return list(self.results)


def payload(signal: str, request, ack: AckRecorder | None = None) -> Payload:
    return Payload(signal, request, [ack] if ack is not None else [])


FAST_RETRY = {"initial_interval": "20ms", "max_interval": "100ms", "randomization_factor": 0,
              "max_elapsed_time": "5s"}
