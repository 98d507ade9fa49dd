"""k8s_leader_elector extension: Lease-based leader election for the cluster receivers."""
from collector.component import ExtensionFactory

from .config import Config


def create(settings, config):
    from .extension import LeaderElectorExtension
    return LeaderElectorExtension(settings, config)


factory = ExtensionFactory(type="k8s_leader_elector", config_class=Config, create=create)
