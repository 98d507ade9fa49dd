"""`otlphttp` exporter: OTLP over HTTP (protobuf or JSON) with otelcol's queue, retry and TLS."""
from __future__ import annotations

from collector.component import ExporterFactory

from .config import Config


def create(settings, config: Config, signals: frozenset):
    from collector.exporters.exporterhelper.queued_exporter import create_exporter

    from .http_transport import HttpTransport

    return create_exporter(settings, config, signals, HttpTransport)


factory = ExporterFactory(type="otlphttp", config_class=Config,
                          signals=frozenset({"logs", "metrics", "traces"}), create=create)
