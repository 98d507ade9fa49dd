"""`otlp` exporter: OTLP over gRPC to a gateway, with otelcol's queue, retry and TLS behaviour."""
from __future__ import annotations

from collector.component import ExporterFactory

from .config import Config


def create(settings, config: Config, signals: frozenset):
    from collector.exporters.exporterhelper.queued_exporter import create_exporter

    from .grpc_transport import GrpcTransport

    return create_exporter(settings, config, signals, GrpcTransport)


factory = ExporterFactory(type="otlp", config_class=Config,
                          signals=frozenset({"logs", "metrics", "traces"}), create=create)
