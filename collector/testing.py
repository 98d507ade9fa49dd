"""Helpers shared by the test suites: free ports, bounded waiting, in-process services."""
from __future__ import annotations

import socket
import time


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02) -> bool:
    """Poll predicate until true or timeout; bounded in time (and so in count)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def start_service(yaml_text: str, sets=None):
    """Build and start a Service from YAML text; the caller shuts it down."""
    from .config import load_config
    from .engine import Service

    svc = Service(load_config(["yaml:" + yaml_text], sets or []))
    svc.start()
    return svc
