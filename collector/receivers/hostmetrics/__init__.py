"""hostmetrics receiver: CPU, memory, load, filesystem, disk, network, paging, process and
system metrics of the node, as otelcol-contrib's hostmetrics receiver names them."""
from __future__ import annotations

from collector.component import ReceiverFactory

from .config import Config


def create(settings, config, consumers):
    from .receiver import HostMetricsReceiver  # protobuf-heavy: only when a pipeline uses it

    return HostMetricsReceiver(settings, config, consumers["metrics"])


factory = ReceiverFactory(type="hostmetrics", config_class=Config, signals=frozenset({"metrics"}),
                          create=create)
