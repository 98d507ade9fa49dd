"""k8s_cluster receiver: cluster-level metrics from the Kubernetes API (otelcol-contrib's
k8sclusterreceiver names and defaults)."""
from collector.component import ReceiverFactory

from .config import Config


def create(settings, config, consumers):
    from .receiver import K8sClusterReceiver
    return K8sClusterReceiver(settings, config, consumers)


factory = ReceiverFactory(type="k8s_cluster", config_class=Config, signals=frozenset({"metrics"}),
                          create=create)
