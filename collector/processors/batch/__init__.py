"""`batch` processor: groups payloads by size or time, as otelcol's batchprocessor."""
from ...component import ProcessorFactory, SIGNALS
from .config import Config
from .processor import BatchProcessor


def create(settings, config: Config, signal: str, next_consumer):
    return BatchProcessor(settings, config, signal, next_consumer)


factory = ProcessorFactory(type="batch", config_class=Config, signals=frozenset(SIGNALS), create=create)
