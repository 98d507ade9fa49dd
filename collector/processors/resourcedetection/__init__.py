"""resourcedetection processor: env, system and k8snode detectors, as otelcol-contrib's."""
from __future__ import annotations

from collector.component import SIGNALS, ProcessorFactory

from .config import Config


def create(settings, config, signal, next_consumer):
    from .processor import ResourceDetectionProcessor

    return ResourceDetectionProcessor(settings, config, signal, next_consumer)


factory = ProcessorFactory(type="resourcedetection", config_class=Config,
                           signals=frozenset(SIGNALS), create=create)
