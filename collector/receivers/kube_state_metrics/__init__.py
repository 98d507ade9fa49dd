"""kube_state_metrics receiver: kube-state-metrics' STABLE families from the Kubernetes API,
meant to be served by the prometheus exporter (the skuber-ksm role)."""
from collector.component import ReceiverFactory

from .config import Config


def create(settings, config, consumers):
    from .receiver import KubeStateMetricsReceiver
    return KubeStateMetricsReceiver(settings, config, consumers)


factory = ReceiverFactory(type="kube_state_metrics", config_class=Config, signals=frozenset({"metrics"}),
                          create=create)
