"""Service discovery: which processes are services, and what they are called.

A service is a process that listens on or talks TCP. Candidates come from a /proc scan at start
(and every discovery.poll_interval) and live from the TCP tracer's listen/connect events; exec
and exit events keep the table current. Selectors and names follow Beyla (see config.py).
"""
from __future__ import annotations

import dataclasses
import os
import threading
from typing import Callable

from . import procfs
from .config import (DEFAULT_EXCLUDE_SERVICES, DEFAULT_EXCLUDES, DiscoveryConfig, Selector,
                     glob_match, regex_match)
from .pod_metadata import PodInfo

SERVICE_NAME_ANNOTATION = "resource.opentelemetry.io/service.name"
SERVICE_NAMESPACE_ANNOTATION = "resource.opentelemetry.io/service.namespace"
APP_NAME_LABEL = "app.kubernetes.io/name"
APP_PART_OF_LABEL = "app.kubernetes.io/part-of"   # Beyla's default service.namespace label


@dataclasses.dataclass
class Process:
    pid: int
    exe: str = ""
    comm: str = ""
    container_id: str | None = None
    pod: PodInfo | None = None
    env_service_name: str | None = None
    env_service_namespace: str | None = None
    ports: set[int] = dataclasses.field(default_factory=set)   # listen ports
    netns: str = ""
    included: bool = False
    name: str = ""
    namespace: str = ""
    exited: bool = False   # kept until its last kernel aggregates were collected


def _usable(value: str | None) -> str | None:
    """An env value Beyla takes: set, and not an unexpanded `$(VAR)` / `${VAR}` reference."""
    return value if value and not value.startswith("$") else None


def _resource_attr(value: str | None, key: str) -> str | None:
    """service.name from OTEL_RESOURCE_ATTRIBUTES ("k=v,k2=v2")."""
    for item in (value or "").split(","):
        k, _, v = item.partition("=")
        if k.strip() == key and v.strip():
            return _usable(v.strip())
    return None


def service_name(p: Process, selector: Selector | None) -> tuple[str, str]:
    """(service.name, service.namespace), in Beyla's order of preference."""
    pod = p.pod
    name = (p.env_service_name
            or (selector.name if selector and selector.name else None)
            or (pod.annotations.get(SERVICE_NAME_ANNOTATION) if pod else None)
            or (pod.labels.get(APP_NAME_LABEL) if pod else None)
            # the top owner (Deployment, StatefulSet, DaemonSet, CronJob, Job...), else the pod
            or (pod.owner_name or pod.name if pod else None)
            or os.path.basename(p.exe) or p.comm or f"pid-{p.pid}")
    namespace = (p.env_service_namespace
                 or (selector.namespace if selector and selector.namespace else None)
                 or (pod.annotations.get(SERVICE_NAMESPACE_ANNOTATION) if pod else None)
                 or (pod.labels.get(APP_PART_OF_LABEL) if pod else None)
                 or (pod.namespace if pod else "") or "")
    return name, namespace


def selector_matches(s: Selector, p: Process, use_regex: bool = False) -> bool:
    match = regex_match if use_regex else glob_match
    if not s.has_criteria():
        return False
    if s.containers_only and not p.container_id:
        return False
    if s.target_pids and p.pid not in s.target_pids:
        return False
    if s.open_ports:
        ranges = s.port_ranges()
        if not any(lo <= port <= hi for port in p.ports for lo, hi in ranges):
            return False
    if s.exe_path and not match(s.exe_path, p.exe):
        return False
    if s.exe_path_regexp and not regex_match(s.exe_path_regexp, p.exe):
        return False
    pod = p.pod
    container = pod.container_name(p.container_id) if pod and p.container_id else ""
    k8s = {
        "k8s_namespace": pod.namespace if pod else "",
        "k8s_pod_name": pod.name if pod else "",
        "k8s_owner_name": pod.owner_name if pod else "",
        "k8s_deployment_name": pod.owner_name if pod and pod.owner_kind == "Deployment" else "",
        "k8s_replicaset_name": pod.replicaset if pod else "",
        "k8s_daemonset_name": pod.owner_name if pod and pod.owner_kind == "DaemonSet" else "",
        "k8s_statefulset_name": pod.owner_name if pod and pod.owner_kind == "StatefulSet" else "",
        "k8s_job_name": pod.owner_name if pod and pod.owner_kind == "Job" else "",
        "k8s_cronjob_name": pod.owner_name if pod and pod.owner_kind == "CronJob" else "",
        "k8s_container_name": container,
        "container_name": container,
    }
    for key, value in k8s.items():
        pattern = getattr(s, key)
        if pattern and not (value and match(pattern, value)):
            return False
    for key, pattern in s.k8s_pod_labels.items():
        if not (pod and key in pod.labels and match(pattern, pod.labels[key])):
            return False
    for key, pattern in s.k8s_pod_annotations.items():
        if not (pod and key in pod.annotations and match(pattern, pod.annotations[key])):
            return False
    return True


class ServiceRegistry:
    """pid -> Process, with listener lookup by local port. Thread-safe: the BPF poll thread and
    the collection thread both use it."""

    def __init__(self, config: DiscoveryConfig, proc: str = "/proc",
                 pod_lookup: Callable[[str], PodInfo | None] | None = None,
                 self_pid: int | None = None, max_processes: int = 16384,
                 on_change: Callable[[Process], None] | None = None) -> None:
        self.config = config
        self.proc = proc
        self.pod_lookup = pod_lookup
        self.self_pid = os.getpid() if self_pid is None else self_pid
        self.max_processes = max_processes
        self.on_change = on_change or (lambda p: None)
        self.processes: dict[int, Process] = {}
        self.listeners: dict[int, set[int]] = {}  # port -> pids listening on it
        self.dropped = 0  # processes not tracked because the table was full
        self._lock = threading.RLock()

    # --- decisions -------------------------------------------------------------------------
    def _decide(self, p: Process) -> None:
        cfg = self.config
        selector = None
        if p.pid == self.self_pid:
            p.included = False
        else:
            # Beyla: `instrument` (globs) when set, else the legacy `services` (regular
            # expressions), each with its own exclusion lists; never a mix of both.
            legacy = bool(cfg.services) and not cfg.instrument
            if legacy:
                selector = next((s for s in cfg.services if selector_matches(s, p, True)), None)
                included = selector is not None
                defaults = (DEFAULT_EXCLUDE_SERVICES if cfg.default_exclude_services is None
                            else cfg.default_exclude_services)
                excluded = any(selector_matches(s, p, True) for s in (*cfg.exclude_services, *defaults))
            else:
                selector = next((s for s in cfg.instrument if selector_matches(s, p)), None)
                included = selector is not None or not cfg.instrument
                defaults = (DEFAULT_EXCLUDES if cfg.default_exclude_instrument is None
                            else cfg.default_exclude_instrument)
                excluded = any(selector_matches(s, p) for s in (*cfg.exclude_instrument, *defaults))
                if not cfg.instrument:  # ours: everything with TCP, minus any exclusion given
                    excluded = excluded or any(selector_matches(s, p, True) for s in cfg.exclude_services)
            if included and excluded:
                included = False
            p.included = included
        p.name, p.namespace = service_name(p, selector)

    def _inspect(self, pid: int) -> Process | None:
        exe = procfs.exe_path(self.proc, pid)
        comm = procfs.comm(self.proc, pid)
        if not exe and not comm:
            return None  # gone already
        cid = procfs.container_id(self.proc, pid)
        pod = None
        if cid and self.pod_lookup:
            try:
                pod = self.pod_lookup(cid)
            except Exception:  # metadata is optional: never lose the process over it
                pod = None
        env_name = _usable(procfs.environ_value(self.proc, pid, "OTEL_SERVICE_NAME"))
        res_attrs = procfs.environ_value(self.proc, pid, "OTEL_RESOURCE_ATTRIBUTES")
        return Process(pid=pid, exe=exe, comm=comm, container_id=cid, pod=pod,
                       env_service_name=env_name or _resource_attr(res_attrs, "service.name"),
                       env_service_namespace=(_usable(procfs.environ_value(self.proc, pid, "OTEL_SERVICE_NAMESPACE"))
                                              or _resource_attr(res_attrs, "service.namespace")),
                       netns=procfs.netns(self.proc, pid))

    # --- events ----------------------------------------------------------------------------
    def observe(self, pid: int, listen_port: int | None = None) -> Process | None:
        """A process was seen listening or connecting. Returns it (None when unknown/gone)."""
        if pid <= 0:
            return None
        with self._lock:
            p = self.processes.get(pid)
            if p is not None and p.exited:  # the pid was reused by a new process
                del self.processes[pid]
                p = None
            if p is None:
                if len(self.processes) >= self.max_processes:
                    self.dropped += 1
                    return None
                p = self._inspect(pid)
                if p is None:
                    return None
                self.processes[pid] = p
                changed = True
            else:
                changed = False
            if listen_port and listen_port not in p.ports:
                p.ports.add(listen_port)
                self.listeners.setdefault(listen_port, set()).add(pid)
                changed = True
            if changed:
                self._decide(p)
        if changed:
            self.on_change(p)
        return p

    def exec(self, pid: int) -> None:
        """The process replaced its image: its name and selectors may differ now."""
        with self._lock:
            old = self.processes.get(pid)
            if old is None:
                return
            fresh = self._inspect(pid)
            if fresh is None:
                return
            fresh.ports = old.ports
            self.processes[pid] = fresh
            self._decide(fresh)
        self.on_change(fresh)

    def exit(self, pid: int) -> None:
        """The process ended. It stays known (for naming) until `reap`, because the kernel's
        aggregates of its last requests are read at the next collection."""
        with self._lock:
            p = self.processes.get(pid)
            if p is None or p.exited:
                return
            p.exited = True
            for port in p.ports:
                pids = self.listeners.get(port)
                if pids:
                    pids.discard(pid)
                    if not pids:
                        del self.listeners[port]

    def reap(self) -> list[int]:
        """Forgets processes that exited before the last collection; returns their pids."""
        with self._lock:
            gone = [pid for pid, p in self.processes.items() if p.exited]
            for pid in gone:
                del self.processes[pid]
        return gone

    def refresh_pods(self) -> None:
        """Re-resolve pod metadata (the pod may have appeared in the informer after the process)."""
        if not self.pod_lookup:
            return
        changed = []
        with self._lock:
            for p in self.processes.values():
                if p.container_id and p.pod is None:
                    pod = self.pod_lookup(p.container_id)
                    if pod is not None:
                        p.pod = pod
                        self._decide(p)
                        changed.append(p)
        for p in changed:
            self.on_change(p)

    # --- lookups ---------------------------------------------------------------------------
    def get(self, pid: int) -> Process | None:
        with self._lock:
            return self.processes.get(pid)

    def listener(self, port: int) -> Process | None:
        with self._lock:
            pids = self.listeners.get(port)
            if not pids:
                return None
            return self.processes.get(min(pids))

    def services(self) -> list[Process]:
        with self._lock:
            return [p for p in self.processes.values() if p.included and not p.exited]

    # --- /proc scan ------------------------------------------------------------------------
    def scan(self) -> list[tuple[int, int, int, procfs.TcpSocket]]:
        """Discovers every process with TCP sockets. Returns (pid, fd, role, socket) for each
        established socket of an included process, so HTTP capture can seed connections that
        existed before the agent started (role 1 client, 2 server)."""
        by_ns: dict[str, dict[int, procfs.TcpSocket]] = {}
        found: list[tuple[int, dict[int, int], dict[int, procfs.TcpSocket]]] = []
        for pid in procfs.list_pids(self.proc):
            inodes = procfs.socket_inodes(self.proc, pid)
            if not inodes:
                continue
            ns = procfs.netns(self.proc, pid) or f"pid:{pid}"
            table = by_ns.get(ns)
            if table is None:
                table = {s.inode: s for s in procfs.net_tcp(self.proc, pid) if s.inode}
                by_ns[ns] = table
            mine = {ino: table[ino] for ino in inodes if ino in table}
            if mine:
                found.append((pid, inodes, mine))
        seeds = []
        for pid, inodes, mine in found:
            listen = sorted({s.local_port for s in mine.values() if s.state == procfs.TCP_LISTEN})
            p = None
            for port in listen or [None]:
                p = self.observe(pid, port)
            if p is None or not p.included:
                continue
            for ino, s in mine.items():
                if s.state == procfs.TCP_ESTABLISHED:
                    role = 2 if s.local_port in p.ports else 1
                    seeds.append((pid, inodes[ino], role, s))
        return seeds
