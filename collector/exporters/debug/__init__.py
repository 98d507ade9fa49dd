"""`debug` exporter: writes what it receives to the log (basic | normal | detailed)."""
from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass
from typing import Literal

from ... import pdata
from ...component import Component, ExporterFactory, SIGNALS


@dataclass
class Config:
    verbosity: Literal["basic", "normal", "detailed"] = "basic"
    sampling_initial: int = 2
    sampling_thereafter: int = 1
    use_internal_logger: bool = True


class DebugExporter(Component):
    def __init__(self, settings, config: Config, signals) -> None:
        self.settings = settings
        self.config = config
        self.log = settings.logger
        self._lock = threading.Lock()
        self._seen = 0

    def start(self, host) -> None:
        host.report_status(str(self.settings.id), True, "ready")

    def _sampled(self) -> bool:
        with self._lock:
            self._seen += 1
            n = self._seen
        c = self.config
        return n <= c.sampling_initial or (c.sampling_thereafter > 0 and (n - c.sampling_initial) % c.sampling_thereafter == 0)

    def consume(self, payload) -> None:
        signal, req = payload.signal, payload.request
        n = pdata.count_items(signal, req)
        if self._sampled():
            noun = {"logs": "Logs", "metrics": "Metrics", "traces": "Traces"}[signal]
            self.log.info(noun, extra={"resource " + signal: len(pdata.resources(signal, req)), pdata.ITEM_NAMES[signal]: n})
            if self.config.verbosity != "basic":
                text = self._render(signal, req)
                if self.config.use_internal_logger:
                    self.log.info(text)
                else:
                    sys.stdout.write(text + "\n")
        self.settings.telemetry.exporter_sent(signal, n)
        payload.ack(True)

    def _render(self, signal, req) -> str:
        from ...otlp.json_codec import to_json
        indent = 2 if self.config.verbosity == "detailed" else None
        return json.dumps(to_json(signal, req), indent=indent)


def create(settings, config, signals):
    return DebugExporter(settings, config, signals)


factory = ExporterFactory(type="debug", config_class=Config, signals=frozenset(SIGNALS), create=create)
