"""`memory_limiter` processor: refuses data while the process is above its soft memory limit."""
from ...component import ProcessorFactory, SIGNALS
from .config import Config
from .processor import MemoryLimiter


def create(settings, config: Config, signal: str, next_consumer):
    return MemoryLimiter(settings, config, signal, next_consumer)


factory = ProcessorFactory(type="memory_limiter", config_class=Config, signals=frozenset(SIGNALS), create=create)
