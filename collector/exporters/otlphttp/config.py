"""`otlphttp` exporter config: otelcol's otlphttpexporter keys (confighttp client + exporterhelper)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from collector.config import ConfigError, Duration
from collector.config.tls import TLSClientConfig
from collector.exporters.exporterhelper.config import BackOffConfig, QueueConfig, validate_timeout

SIGNAL_PATHS = {"traces": "v1/traces", "metrics": "v1/metrics", "logs": "v1/logs"}


@dataclass
class Config:
    endpoint: str = ""                   # base URL; /v1/traces, /v1/metrics, /v1/logs appended
    traces_endpoint: str = ""            # full URL for traces (overrides endpoint)
    metrics_endpoint: str = ""
    logs_endpoint: str = ""
    tls: TLSClientConfig = field(default_factory=TLSClientConfig)  # used for https:// URLs
    compression: str = "gzip"            # gzip | none | "" (none)
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # secrets: never printed
    timeout: Duration = 30.0             # per HTTP request (confighttp's default in otlphttp)
    encoding: Literal["proto", "json"] = "proto"
    retry_on_failure: BackOffConfig = field(default_factory=BackOffConfig)
    sending_queue: QueueConfig = field(default_factory=QueueConfig)

    def signal_url(self, signal: str) -> str:
        explicit = getattr(self, f"{signal}_endpoint")
        if explicit:
            return explicit
        return self.endpoint.rstrip("/") + "/" + SIGNAL_PATHS[signal]

    def validate(self) -> None:
        if not (self.endpoint or self.traces_endpoint or self.metrics_endpoint or self.logs_endpoint):
            raise ConfigError("endpoint", "at least one endpoint must be specified")
        for key in ("endpoint", "traces_endpoint", "metrics_endpoint", "logs_endpoint"):
            value = getattr(self, key)
            if not value:
                continue
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(key, f"invalid URL {value!r}: expected http://host:port or https://host:port")
            try:
                parts.port
            except ValueError:
                raise ConfigError(key, f"invalid port in {value!r}") from None
        if self.compression not in ("gzip", "none", ""):
            raise ConfigError("compression", f"unsupported compression {self.compression!r}: use gzip or none")
        validate_timeout(self.timeout)
