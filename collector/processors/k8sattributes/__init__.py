"""`k8sattributes` processor: Kubernetes metadata on resources, as otelcol-contrib's
k8sattributesprocessor (same keys, defaults and attribute names)."""
from ...component import SIGNALS, ProcessorFactory
from .config import Config


def create(settings, config: Config, signal: str, next_consumer):
    # Imported here: the registry imports every component module just to validate configs.
    from .processor import K8sAttributesProcessor

    return K8sAttributesProcessor(settings, config, signal, next_consumer)


factory = ProcessorFactory(type="k8sattributes", config_class=Config, signals=frozenset(SIGNALS), create=create)
