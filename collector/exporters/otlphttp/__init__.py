"""`otlphttp` exporter: OTLP over HTTP (protobuf or JSON) with otelcol's queue, retry and TLS."""
from __future__ import annotations

from collector.component import ExporterFactory

from .config import Config


def create(settings, config: Config, signals: frozenset):
    from collector.exporters.exporterhelper.queued_exporter import QueuedExporter

    from .http_transport import HttpTransport

    info = settings.build_info
    transport = HttpTransport(config, settings.logger, user_agent=f"{info.command}/{info.version}")
    return QueuedExporter(settings, config, signals, transport)


factory = ExporterFactory(type="otlphttp", config_class=Config,
                          signals=frozenset({"logs", "metrics", "traces"}), create=create)
