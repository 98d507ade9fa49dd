"""prometheus exporter: serves the pipeline's metrics at /metrics (otelcol-contrib's
prometheusexporter names and keys)."""
from collector.component import ExporterFactory

from .config import Config


def create(settings, config, signals):
    from .exporter import PrometheusExporter
    return PrometheusExporter(settings, config, signals)


factory = ExporterFactory(type="prometheus", config_class=Config, signals=frozenset({"metrics"}),
                          create=create)
