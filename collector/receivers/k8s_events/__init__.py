"""k8s_events receiver: Kubernetes events as log records (otelcol-contrib's k8seventsreceiver)."""
from collector.component import ReceiverFactory

from .config import Config


def create(settings, config, consumers):
    from .receiver import K8sEventsReceiver
    return K8sEventsReceiver(settings, config, consumers)


factory = ReceiverFactory(type="k8s_events", config_class=Config, signals=frozenset({"logs"}),
                          create=create)
