"""How a receiver opts in to leader election (`k8s_leader_elector: <id>`): its work runs only
between on_start_leading and on_stop_leading; without the key it runs from start to shutdown."""
from __future__ import annotations

import threading


class LeaderGate:
    def __init__(self, start_work, stop_work, elector_id: str | None, logger):
        self._start_work = start_work
        self._stop_work = stop_work
        self.elector_id = elector_id
        self.log = logger
        self._ext = None
        self._handle = None
        self._running = False
        self._lock = threading.Lock()  # serialises start/stop from the elector and shutdown

    def start(self, host) -> None:
        if not self.elector_id:
            self._on_start()
            return
        ext = host.get_extension(self.elector_id)  # KeyError names the missing id
        if not hasattr(ext, "register"):
            raise ValueError(f"extension {self.elector_id} is not a k8s_leader_elector")
        self._ext = ext
        self._handle = ext.register(self._on_start, self._on_stop)

    def shutdown(self) -> None:
        if self._ext is not None and self._handle is not None:
            self._ext.unregister(self._handle)
        self._on_stop()

    @property
    def running(self) -> bool:
        return self._running

    def _on_start(self) -> None:
        with self._lock:
            if self._running:
                return
            self._start_work()
            self._running = True

    def _on_stop(self) -> None:
        with self._lock:
            if not self._running:
                return
            self._running = False
            self._stop_work()
