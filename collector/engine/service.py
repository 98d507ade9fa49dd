"""Builds the component graph from a Config and runs its lifecycle.

Start order: extensions, exporters, processors (last to first in each pipeline), receivers.
Shutdown order: receivers, processors (first to last, so batches flush downstream),
exporters, extensions, all within one deadline.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from ..component import ComponentID, CreateSettings
from ..config.service import ComponentConfig, Config
from ..telemetry import Telemetry
from .fanout import Fanout

log = logging.getLogger("collector.service")


@dataclass
class _Built:
    cfg: ComponentConfig
    instance: object
    pipeline: str = ""

    @property
    def label(self) -> str:
        where = f" in pipeline {self.pipeline}" if self.pipeline else ""
        return f"{self.cfg.kind} {self.cfg.id}{where}"


@dataclass
class ComponentStatus:
    healthy: bool = True
    message: str = ""
    reported: bool = False
    ever_healthy: bool = False
    since: float = field(default_factory=time.time)


class Service:
    """The running collector: also the Host given to components."""

    def __init__(self, config: Config, telemetry: Telemetry | None = None, clock=time.time) -> None:
        self.config = config
        self.telemetry = telemetry or Telemetry()
        self.clock = clock
        self.started_at: float | None = None
        self.state = "created"  # created -> starting -> running -> stopping -> stopped
        self._status: dict[str, ComponentStatus] = {}
        self._status_lock = threading.Lock()
        self._ready_logged = False
        self.extensions: dict[ComponentID, _Built] = {}
        self.exporters: dict[ComponentID, _Built] = {}
        self.processors: dict[str, list[_Built]] = {}   # pipeline id -> chain, first to last
        self.receivers: dict[ComponentID, _Built] = {}
        self._started: list[_Built] = []
        self._build()

    # Host API ---------------------------------------------------------------------------------
    def get_extension(self, component_id: str):
        cid = ComponentID.parse(component_id)
        built = self.extensions.get(cid)
        if built is None:
            known = ", ".join(str(c) for c in self.extensions) or "none"
            raise KeyError(f"extension {component_id!r} is not enabled in service.extensions (enabled: {known})")
        return built.instance

    def report_status(self, component_id: str, healthy: bool, message: str = "") -> None:
        with self._status_lock:
            st = self._status.setdefault(str(component_id), ComponentStatus())
            changed = st.healthy != healthy or not st.reported
            st.healthy, st.message, st.reported = healthy, message, True
            st.ever_healthy = st.ever_healthy or healthy
            if changed:
                st.since = time.time()
        self._maybe_ready()

    def status(self) -> dict[str, ComponentStatus]:
        with self._status_lock:
            return dict(self._status)

    def is_healthy(self, include_components: bool = False) -> bool:
        if self.state != "running":
            return False
        if include_components:
            return all(st.healthy for st in self.status().values())
        return True

    # Build --------------------------------------------------------------------------------------
    def _settings(self, cfg: ComponentConfig) -> CreateSettings:
        return CreateSettings(id=cfg.id, kind=cfg.kind,
                              logger=logging.getLogger(f"collector.{cfg.kind}.{cfg.id}"),
                              telemetry=self.telemetry.component(cfg.kind, str(cfg.id)),
                              clock=self.clock)

    def _build(self) -> None:
        cfg = self.config
        pipelines = cfg.pipelines()
        for ref in cfg.service.extensions:
            cid = ComponentID.parse(ref)
            c = cfg.extensions[cid]
            self.extensions[cid] = _Built(c, c.factory.create(self._settings(c), c.config))

        exporter_signals: dict[ComponentID, set] = {}
        for pid, pipe in pipelines.items():
            for ref in pipe.exporters:
                exporter_signals.setdefault(ComponentID.parse(ref), set()).add(pid.type)
        for cid, signals in exporter_signals.items():
            c = cfg.exporters[cid]
            self.exporters[cid] = _Built(c, c.factory.create(self._settings(c), c.config, frozenset(signals)))
            self._status[str(cid)] = ComponentStatus(reported=False)

        entries: dict[tuple[ComponentID, str], list] = {}
        for pid, pipe in pipelines.items():
            signal = pid.type
            nxt = Fanout([self.exporters[ComponentID.parse(r)].instance for r in pipe.exporters], clone=False)
            chain: list[_Built] = []
            for ref in reversed(pipe.processors):
                c = cfg.processors[ComponentID.parse(ref)]
                inst = c.factory.create(self._settings(c), c.config, signal, nxt)
                chain.insert(0, _Built(c, inst, str(pid)))
                nxt = inst
            self.processors[str(pid)] = chain
            for ref in pipe.receivers:
                entries.setdefault((ComponentID.parse(ref), signal), []).append(nxt)

        receiver_consumers: dict[ComponentID, dict] = {}
        for (rid, signal), consumers in entries.items():
            receiver_consumers.setdefault(rid, {})[signal] = Fanout(consumers, clone=True)
        for rid, consumers in receiver_consumers.items():
            c = cfg.receivers[rid]
            self.receivers[rid] = _Built(c, c.factory.create(self._settings(c), c.config, consumers))

    # Lifecycle -----------------------------------------------------------------------------------
    def _start_order(self) -> list[_Built]:
        order = list(self.extensions.values()) + list(self.exporters.values())
        for chain in self.processors.values():
            order += list(reversed(chain))
        return order + list(self.receivers.values())

    def start(self) -> None:
        self.state = "starting"
        for built in self._start_order():
            try:
                built.instance.start(self)
            except Exception as e:
                log.error("failed to start %s: %s", built.label, e)
                self.shutdown(time.monotonic() + 5)
                raise RuntimeError(f"failed to start {built.label}: {e}") from e
            self._started.append(built)
        self.state = "running"
        self.started_at = time.time()
        log.info("Everything started", extra={"pipelines": sorted(self.processors)})
        self._maybe_ready()

    def _maybe_ready(self) -> None:
        """Log `Everything is ready` once: all started and every exporter connected once."""
        if self.state != "running":
            return
        with self._status_lock:
            if self._ready_logged:
                return
            if any(not self._status.get(str(cid), ComponentStatus()).ever_healthy for cid in self.exporters):
                return
            self._ready_logged = True
        log.info("Everything is ready. Begin running and processing data.")

    def shutdown(self, deadline: float) -> None:
        """Stop receivers first, then flush processors and exporters before the deadline."""
        if self.state in ("stopping", "stopped"):
            return
        self.state = "stopping"
        started = set(id(b) for b in self._started)
        order = list(self.receivers.values())
        for chain in self.processors.values():
            order += chain
        order += list(self.exporters.values()) + list(reversed(list(self.extensions.values())))
        for built in order:
            if id(built) not in started:
                continue
            try:
                built.instance.shutdown(deadline)
            except Exception as e:
                log.error("error shutting down %s: %s", built.label, e)
        self.state = "stopped"
