from .fanout import Fanout
from .service import Service

__all__ = ["Fanout", "Service"]
