"""`otlp` receiver: OTLP over gRPC and HTTP (protobuf and JSON), as otelcol's otlpreceiver."""
from collector.component import SIGNALS, ReceiverFactory

from .config import Config


def create(settings, config: Config, consumers):
    from .receiver import OTLPReceiver

    return OTLPReceiver(settings, config, consumers)


factory = ReceiverFactory(type="otlp", config_class=Config, signals=frozenset(SIGNALS), create=create)
