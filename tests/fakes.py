"""Test components: a receiver the test drives by hand and an exporter that records."""
from __future__ import annotations

import threading
from dataclasses import dataclass

from collector import pdata
from collector.component import (SIGNALS, Component, ExporterFactory, Payload, PermanentError,
                                 ReceiverFactory, Refused)
from collector.registry import Registry, default_registry


@dataclass
class FakeReceiverConfig:
    label: str = ""


@dataclass
class FakeExporterConfig:
    fail: str = ""            # "", "refuse", "permanent", "nack"
    connect: bool = True


class FakeReceiver(Component):
    instances: list["FakeReceiver"] = []

    def __init__(self, settings, config, consumers):
        self.settings, self.config, self.consumers = settings, config, consumers
        self.started = self.stopped = False
        FakeReceiver.instances.append(self)

    def start(self, host):
        self.started = True

    def shutdown(self, deadline):
        self.stopped = True

    def send(self, signal, request, client_addr=None):
        acks = []
        result = threading.Event()
        outcome = []

        def ack(ok):
            outcome.append(ok)
            result.set()

        acks.append(ack)
        self.consumers[signal].consume(Payload(signal, request, acks, client_addr))
        return result, outcome


class FakeExporter(Component):
    instances: dict[str, "FakeExporter"] = {}

    def __init__(self, settings, config, signals):
        self.settings, self.config, self.signals = settings, config, signals
        self.received: list[Payload] = []
        self.stopped = False
        FakeExporter.instances[str(settings.id)] = self

    def start(self, host):
        if self.config.connect:
            host.report_status(str(self.settings.id), True, "connected")

    def consume(self, payload):
        if self.config.fail == "refuse":
            payload.ack(False)
            raise Refused("queue is full")
        if self.config.fail == "permanent":
            payload.ack(False)
            raise PermanentError("bad data")
        self.received.append(payload)
        self.settings.telemetry.exporter_sent(payload.signal, pdata.count_items(payload.signal, payload.request))
        payload.ack(self.config.fail != "nack")

    def shutdown(self, deadline):
        self.stopped = True


def registry_with_fakes() -> Registry:
    base = default_registry()
    reg = Registry({k: dict(v) for k, v in base._factories.items()})
    reg.add(ReceiverFactory("fake", FakeReceiverConfig, frozenset(SIGNALS), FakeReceiver))
    reg.add(ReceiverFactory("fakelogs", FakeReceiverConfig, frozenset({"logs"}), FakeReceiver))
    reg.add(ExporterFactory("fakeexp", FakeExporterConfig, frozenset(SIGNALS), FakeExporter))
    return reg


def spans(n: int, name: str = "span", service: str = "svc"):
    req = pdata.new_request("traces")
    rs = req.resource_spans.add()
    pdata.set_attr(rs.resource.attributes, "service.name", service)
    ss = rs.scope_spans.add()
    for i in range(n):
        ss.spans.add(name=f"{name}-{i}", trace_id=bytes(16), span_id=i.to_bytes(8, "big"))
    return req


def logs(n: int, body: str = "line"):
    req = pdata.new_request("logs")
    sl = req.resource_logs.add().scope_logs.add()
    for i in range(n):
        sl.log_records.add().body.string_value = f"{body}-{i}"
    return req
