"""`kubeletstats` receiver: kubelet /stats/summary metrics, as otelcol-contrib's kubeletstatsreceiver."""
from ...component import ReceiverFactory
from .config import Config


def create(settings, config: Config, consumers):
    from .receiver import KubeletStatsReceiver

    return KubeletStatsReceiver(settings, config, consumers)


factory = ReceiverFactory(type="kubeletstats", config_class=Config, signals=frozenset({"metrics"}), create=create)
