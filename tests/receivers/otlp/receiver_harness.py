"""A running `otlp` receiver with scripted consumers, for the receiver tests."""
from __future__ import annotations

import logging
import threading
import time

from collector.component import ComponentID, CreateSettings
from collector.config import decode
from collector.receivers.otlp import factory
from collector.telemetry import Telemetry
from collector.testing import free_port


class ScriptedConsumer:
    """Records payloads, or raises `error` (an exception instance) when set."""

    def __init__(self) -> None:
        self.payloads = []
        self.error: Exception | None = None
        self.lock = threading.Lock()

    def consume(self, payload) -> None:
        if self.error is not None:
            payload.ack(False)
            raise self.error
        with self.lock:
            self.payloads.append(payload)
        payload.ack(True)


class RunningReceiver:
    def __init__(self, protocols: dict, signals=("logs", "metrics", "traces")) -> None:
        raw = {"protocols": {}}
        for name, cfg in protocols.items():
            cfg = dict(cfg or {})
            cfg.setdefault("endpoint", f"127.0.0.1:{free_port()}")
            raw["protocols"][name] = cfg
        self.config = decode(factory.config_class, raw, "receivers.otlp")
        self.telemetry = Telemetry()
        self.consumers = {s: ScriptedConsumer() for s in signals}
        settings = CreateSettings(id=ComponentID("otlp"), kind="receiver",
                                  logger=logging.getLogger("collector.receiver.otlp"),
                                  telemetry=self.telemetry.component("receiver", "otlp"))
        self.receiver = factory.create(settings, self.config, self.consumers)

    def start(self) -> "RunningReceiver":
        self.receiver.start(host=None)
        return self

    def stop(self) -> None:
        self.receiver.shutdown(time.monotonic() + 2)

    @property
    def grpc(self) -> str:
        return self.receiver.endpoints["grpc"]

    @property
    def http(self) -> str:
        return "http://" + self.receiver.endpoints["http"]

    def metric(self, name: str, **labels) -> float:
        return self.telemetry.value(name, {"receiver": "otlp", **labels})
