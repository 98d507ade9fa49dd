"""`debug` exporter: writes what it receives to the log (basic | normal | detailed)."""
from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass

from ... import pdata
from ...component import Component, ExporterFactory, SIGNALS
from ...config import ConfigError

VERBOSITIES = ("basic", "normal", "detailed")


@dataclass
class Config:
    verbosity: str = "basic"             # basic | normal | detailed, any case (configtelemetry.Level)
    sampling_initial: int = 2            # per second: the first n exports are logged ...
    sampling_thereafter: int = 1         # ... then every n-th (0: none) until the second ends
    use_internal_logger: bool = True
    output_paths: list[str] | None = None  # stdout, stderr or files; default stdout (no internal logger)

    def validate(self) -> None:
        level = str(self.verbosity).lower()
        if level not in VERBOSITIES:
            raise ConfigError("verbosity", f"verbosity level {self.verbosity!r} is not supported: "
                                           "use basic, normal or detailed")
        self.verbosity = level
        if self.sampling_initial < 0:
            raise ConfigError("sampling_initial", "must not be negative")
        if self.sampling_thereafter < 0:
            raise ConfigError("sampling_thereafter", "must not be negative")
        if self.use_internal_logger and self.output_paths is not None:
            raise ConfigError("output_paths", "is not supported when use_internal_logger is true")
        if not self.use_internal_logger and self.output_paths is not None and not self.output_paths:
            raise ConfigError("output_paths", "must not be empty when use_internal_logger is false")


class DebugExporter(Component):
    def __init__(self, settings, config: Config, signals) -> None:
        self.settings = settings
        self.config = config
        self.log = settings.logger
        self._lock = threading.Lock()         # the sampler's counters
        self._write_lock = threading.Lock()   # the outputs: a blocked pipe must not stall sampling
        self._seen = 0
        self._second = 0
        self._outputs: list = []

    def start(self, host) -> None:
        if not self.config.use_internal_logger:
            try:
                for path in self.config.output_paths or ["stdout"]:
                    self._outputs.append(sys.stdout if path == "stdout" else sys.stderr if path == "stderr"
                                         else open(path, "a", encoding="utf-8"))
            except OSError:
                self._close_outputs()  # a component whose start failed is never shut down
                raise
        host.report_status(str(self.settings.id), True, "ready")

    def _sampled(self) -> bool:
        # zap's sampler, as the collector's debug exporter uses it: counts restart every second.
        now = int(time.monotonic())
        with self._lock:
            if now != self._second:
                self._second, self._seen = now, 0
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
                    with self._write_lock:
                        for out in self._outputs:  # empty after shutdown: a late export writes nothing
                            out.write(text + "\n")
                            out.flush()
        self.settings.telemetry.exporter_sent(signal, n)
        payload.ack(True)

    def shutdown(self, deadline: float) -> None:
        self._close_outputs()

    def _close_outputs(self) -> None:
        with self._write_lock:
            for out in self._outputs:
                if out not in (sys.stdout, sys.stderr):
                    out.close()
            self._outputs = []

    def _render(self, signal, req) -> str:
        from ...otlp.json_codec import to_json
        indent = 2 if self.config.verbosity == "detailed" else None
        return json.dumps(to_json(signal, req), indent=indent)


def create(settings, config, signals):
    return DebugExporter(settings, config, signals)


factory = ExporterFactory(type="debug", config_class=Config, signals=frozenset(SIGNALS), create=create)
