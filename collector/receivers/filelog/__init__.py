"""`filelog` receiver: container log files to OTLP logs, acknowledged delivery.

Layout: config (keys), discovery (globs), fingerprint + file_tracker (file identity),
file_reader (tailing), container (docker/CRI-O/containerd lines), k8s_path (path -> resource),
line_batch + otlp_encoding (hot path to protobuf bytes), checkpoints (file_storage offsets),
receiver (the component).
"""
from collector.component import ReceiverFactory

from .config import Config


def create(settings, config: Config, consumers):
    from .receiver import FilelogReceiver
    return FilelogReceiver(settings, config, consumers["logs"])


factory = ReceiverFactory(type="filelog", config_class=Config, signals=frozenset({"logs"}), create=create)

__all__ = ["Config", "factory"]
