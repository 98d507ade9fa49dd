"""prometheus receiver: scrapes Prometheus text endpoints into OTLP metrics (otelcol-contrib's
prometheusreceiver, static targets)."""
from collector.component import ReceiverFactory

from .config import Config


def create(settings, config, consumers):
    from .receiver import PrometheusReceiver
    return PrometheusReceiver(settings, config, consumers)


factory = ReceiverFactory(type="prometheus", config_class=Config, signals=frozenset({"metrics"}),
                          create=create)
