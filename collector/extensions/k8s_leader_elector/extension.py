"""The k8s_leader_elector extension: runs a LeaseElector and tells registered components when
this replica starts and stops leading.

Receivers opt in with `k8s_leader_elector: <extension id>` and call
`host.get_extension(id).register(on_start_leading, on_stop_leading)` in their start().
"""
from __future__ import annotations

import os
import socket
import threading
import time

from collector.component import Component

from .config import Config
from .elector import LeaseElector
from .lease_client import LeaseClient


def default_identity() -> str:
    """The pod name (downward API env POD_NAME, else HOSTNAME, which Kubernetes sets to it)."""
    return os.environ.get("POD_NAME") or os.environ.get("HOSTNAME") or socket.gethostname()


class LeaderElectorExtension(Component):
    def __init__(self, settings, config: Config, api_client=None, identity: str | None = None):
        self.settings = settings
        self.config = config
        self.log = settings.logger
        self.identity = identity or default_identity()
        self._api_client = api_client
        self._callbacks: list[tuple] = []
        self._lock = threading.Lock()
        self.elector: LeaseElector | None = None

    def register(self, on_start_leading, on_stop_leading) -> object:
        """Add callbacks; when we already lead, on_start_leading runs now. Returns a handle."""
        handle = (on_start_leading, on_stop_leading)
        with self._lock:
            self._callbacks.append(handle)
            leading = self.is_leader
        if leading:
            on_start_leading()
        return handle

    def unregister(self, handle) -> None:
        with self._lock:
            if handle in self._callbacks:
                self._callbacks.remove(handle)

    @property
    def is_leader(self) -> bool:
        return self.elector is not None and self.elector.is_leader

    def annotation(self, key: str) -> str | None:
        """State the previous leader left on the lease (read it in on_start_leading)."""
        return self.elector.annotation(key) if self.elector is not None else None

    def set_annotation(self, key: str, value: str) -> None:
        """Hand state over to the next leader; written with the next renewal."""
        if self.elector is not None:
            self.elector.set_annotation(key, value)

    def _fire(self, index: int) -> None:
        with self._lock:
            callbacks = list(self._callbacks)
        for cb in callbacks:
            try:
                cb[index]()
            except Exception:
                self.log.exception("leader callback of a registered component failed")

    def start(self, host) -> None:
        api = self._api_client
        if api is None:
            from collector.k8s.client import make_api_client
            api = make_api_client(self.config.auth_type, context=self.config.context or None)
        lease = LeaseClient(api, self.config.lease_namespace, self.config.lease_name,
                            timeout=max(1.0, self.config.retry_period))
        self.elector = LeaseElector(lease, self.identity, self.config.lease_duration,
                                    self.config.renew_deadline, self.config.retry_period,
                                    on_start_leading=lambda: self._fire(0),
                                    on_stop_leading=lambda: self._fire(1), logger=self.log)
        self.elector.start()

    def shutdown(self, deadline: float) -> None:
        if self.elector is not None:
            self.elector.stop(release=True, timeout=max(0.1, deadline - time.monotonic()))
