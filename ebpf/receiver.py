"""The `apm` receiver: eBPF service discovery, TCP network metrics and HTTP RED metrics.

Threads: `apm-load` compiles and attaches the BPF program (seconds, so never in start());
`apm-bpf-poll` drains ring buffers into the handlers; `apm-collect` rescans /proc and emits one
ExportMetricsServiceRequest to consumers["metrics"] every collection_interval.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

from collector.component import Component, Payload, PermanentError, ReceiverFactory, Refused

from .config import Config
from .discovery import Process, ServiceRegistry
from .metric_store import Attrs, MetricStore

log = logging.getLogger(__name__)


_HOST = socket.gethostname()  # read once: resource_attrs runs per recorded exchange


def resource_attrs(p: Process) -> Attrs:
    host = _HOST
    out = [("service.name", p.name), ("service.namespace", p.namespace),
           ("service.instance.id", f"{host}:{p.pid}"), ("process.pid", p.pid),
           ("process.executable.path", p.exe)]
    if p.container_id:
        out.append(("container.id", p.container_id))
    if p.pod:
        out.extend(p.pod.resource_attrs())
        if p.container_id:
            out.append(("k8s.container.name", p.pod.container_name(p.container_id)))
    return tuple(sorted((k, v) for k, v in out if v not in ("", None)))


class ApmReceiver(Component):
    def __init__(self, settings, config: Config, consumers: dict) -> None:
        self.settings = settings
        self.config = config
        self.consumer = consumers.get("metrics")
        self.log = settings.logger
        self.clock = settings.clock
        tel = settings.telemetry
        self._lost = tel.counter("skuber_apm_events_lost_total",
                                 "eBPF events or records lost, by reason", ("reason",)) if tel else None
        self._status = tel.gauge("skuber_apm_tracer_loaded",
                                 "1 when the eBPF programs are attached") if tel else None
        self._slow = tel.counter("skuber_apm_http_slow_path_total",
                                 "HTTP connections handed from the kernel to user-space parsing, by reason",
                                 ("reason",)) if tel else None
        self._slow_seen: dict[str, int] = {}
        self.store = MetricStore(self.clock, config.ebpf.series_limit,
                                 on_overflow=lambda name: self.count_lost("series_limit", 1))
        self.pods = None
        self.registry: ServiceRegistry | None = None
        self.tcp = None
        self.http = None
        self.tracer = None
        self.unavailable: str | None = None
        self.ready = threading.Event()    # set once loaded (or known unavailable)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._kernel_drops: dict[int, int] = {}
        self._host = None
        self.emitted = 0

    # --- self-telemetry --------------------------------------------------------------------
    def count_lost(self, reason: str, n: int) -> None:
        if self._lost is not None and n > 0:
            self._lost.labels(reason=reason).inc(n)

    # --- lifecycle -------------------------------------------------------------------------
    def start(self, host) -> None:
        self._host = host
        self._setup_userspace()
        t = threading.Thread(target=self._load_and_run, name="apm-load", daemon=True)
        t.start()
        self._threads.append(t)

    def _setup_userspace(self) -> None:
        from .pod_metadata import PodIndex, in_cluster
        from .tcp_metrics import TcpMetrics

        k8s = self.config.attributes.kubernetes
        lookup = None
        if in_cluster(k8s.enable):
            try:
                from collector.k8s.client import make_api_client
                api = (make_api_client("kubeConfig", kubeconfig=k8s.kubeconfig_path)
                       if k8s.kubeconfig_path else make_api_client("serviceAccount"))
                node = os.environ.get("K8S_NODE_NAME") or os.environ.get("NODE_NAME")
                self.pods = PodIndex(api, node, logger=self.log, telemetry=self.settings.telemetry)
                lookup = self.pods.lookup
            except Exception as e:  # metadata is optional: run without it, say why
                self.log.warning("apm: no Kubernetes pod metadata: %s", e)
                self.pods = None
        self.registry = ServiceRegistry(self.config.discovery, proc=self.config.ebpf.proc_path,
                                        pod_lookup=lookup,
                                        max_processes=self.config.ebpf.max_tracked_pids,
                                        on_change=self._on_process_change)
        self.tcp = TcpMetrics(self.store, self.registry, resource_attrs,
                              max_sockets=self.config.ebpf.max_tracked_sockets,
                              count_drop=self.count_lost, flows=self.config.network.enable,
                              flow_limit=self.config.network.cache_max_flows,
                              cidrs=self.config.network.cidrs)
        if self.config.ebpf.http_capture:
            from .http_metrics import HttpMetrics
            self.http = HttpMetrics(self.store, self.registry, resource_attrs, self.config.routes,
                                    self.config.ebpf, count_drop=self.count_lost,
                                    peer_name=self.tcp)

    def _load_and_run(self) -> None:
        from . import bpf_program
        from .tracer import BpfTracer
        from .tcp_metrics import decode_event

        if self.pods is not None:
            try:
                if not self.pods.start(self.config.attributes.kubernetes.informers_sync_timeout):
                    self.log.warning("apm: pod informer not synced yet; names may start as executables")
            except Exception as e:
                self.log.warning("apm: pod informer failed to start: %s", e)
        ebpf = self.config.ebpf
        opts = bpf_program.ProgramOptions(http=self.http is not None,
                                          max_socks=ebpf.max_tracked_sockets,
                                          max_pids=ebpf.max_tracked_pids,
                                          max_conns=ebpf.max_http_connections,
                                          fast_path=not ebpf.body_size_metrics,
                                          tls=ebpf.tls_uprobes)
        tracer = BpfTracer(opts, ebpf.kernel_headers_search, ebpf.headers_cache_dir,
                           on_tcp=lambda e: self.tcp.handle(decode_event(e)),
                           on_http=self.http.handle_raw if self.http else None, logger=self.log,
                           count_drop=self.count_lost)
        tracer.tls_libraries = ebpf.tls_libraries
        try:
            tracer.load()
        except bpf_program.ApmUnavailable as e:
            self._unavailable(str(e))
            return
        except Exception as e:  # BCC raises bare exceptions for attach failures
            self._unavailable(f"cannot load the eBPF programs: {e}; disable the agent with "
                              "apmAgent.enabled=false if this kernel cannot run them")
            return
        if self._stop.is_set():
            tracer.stop()
            return
        self.tracer = tracer
        if not opts.http:
            self.http = None
        elif self.http is not None:
            self.http.attach(tracer)
        tracer.start()
        self._rescan(seed=True)
        if self._status is not None:
            self._status.set(1)
        self.ready.set()
        if self._host is not None:
            self._host.report_status(str(self.settings.id), True, "")
        t = threading.Thread(target=self._collect_loop, name="apm-collect", daemon=True)
        t.start()
        self._threads.append(t)

    def _unavailable(self, message: str) -> None:
        self.unavailable = message
        self.log.error("apm: eBPF APM agent disabled: %s", message)
        if self._host is not None:
            self._host.report_status(str(self.settings.id), False, message)
        self.ready.set()

    def _on_process_change(self, p: Process) -> None:
        if self.tracer is not None:
            from .tracer import TRACK_OFF, TRACK_ON
            self.tracer.set_pid(p.pid, TRACK_ON if p.included else TRACK_OFF)
            if p.included and not p.exited:
                self.tracer.attach_tls_for_process(p.pid, self.config.ebpf.proc_path)

    def _rescan(self, seed: bool = False) -> None:
        seeds = self.registry.scan()
        if self.pods is not None:
            self.registry.refresh_pods()
        if self.tracer is not None and self.tracer.opts.tls:
            # a process may load libssl after its first connection: look again
            for p in self.registry.services():
                self.tracer.attach_tls_for_process(p.pid, self.config.ebpf.proc_path)
        # Only connections older than the agent need seeding; later ones are learned from
        # accept/connect, and re-seeding a live one would reset its in-flight request.
        if seed and self.http is not None:
            self.http.seed(seeds)

    def _collect_loop(self) -> None:
        interval = self.config.collection_interval
        next_emit = time.monotonic() + interval
        next_scan = time.monotonic() + self.config.discovery.poll_interval
        while not self._stop.wait(max(0.0, min(next_emit, next_scan) - time.monotonic())):
            now = time.monotonic()
            try:
                if now >= next_scan:
                    next_scan = now + self.config.discovery.poll_interval
                    self._rescan()
                if now >= next_emit:
                    next_emit = now + interval
                    self.collect_and_emit()
            except Exception:  # never let one bad cycle end collection; counted and logged
                self.count_lost("collection_error", 1)
                self.log.exception("apm: collection cycle failed")

    def collect(self):
        """Builds the request from current state (also used by tests after poll_now)."""
        tracer = self.tracer
        live = tracer.live_sockets() if tracer and tracer.features.sock_length_tracepoints else None
        with tracer.lock if tracer else _NullLock():
            self.tcp.collect(live)
            if self.http is not None:
                self.http.collect_kernel()
                self.http.expire(time.monotonic())
        if tracer is not None:
            from .tracer import DROP_REASONS
            drops = tracer.drops()
            for idx, reason in enumerate(DROP_REASONS):
                n = drops.get(idx, 0)
                self.count_lost(reason, n - self._kernel_drops.get(idx, 0))
                self._kernel_drops[idx] = n
        self.registry.reap()  # exited processes were needed until their last aggregates
        if self.http is not None and self._slow is not None:
            for reason, n in self.http.slow_path_counts().items():
                if n > self._slow_seen.get(reason, 0):
                    self._slow.labels(reason=reason).inc(n - self._slow_seen.get(reason, 0))
                    self._slow_seen[reason] = n
        extra = (("host.name", _HOST),)
        if self.config.attributes.kubernetes.cluster_name:
            extra += (("k8s.cluster.name", self.config.attributes.kubernetes.cluster_name),)
        return self.store.export(lambda res: extra)

    def collect_and_emit(self) -> None:
        req = self.collect()
        if not req.resource_metrics or self.consumer is None:
            return
        try:
            self.consumer.consume(Payload("metrics", req))
            self.emitted += 1
        except (Refused, PermanentError) as e:
            from collector.pdata import count_items
            self.settings.telemetry.dropped("metrics", count_items("metrics", req), "refused")
            self.log.warning("apm: metrics refused downstream: %s", e)

    def shutdown(self, deadline: float) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(max(0.0, min(2.0, deadline - time.monotonic())))
        if self.tracer is not None:
            try:
                if time.monotonic() < deadline:
                    self.tracer.poll_now()
                    self.collect_and_emit()
            except Exception:
                self.log.exception("apm: final flush failed")
            self.tracer.stop()
        if self.pods is not None:
            self.pods.stop()


class _NullLock:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def create(settings, config: Config, consumers: dict) -> ApmReceiver:
    return ApmReceiver(settings, config, consumers)


factory = ReceiverFactory(type="apm", config_class=Config, signals=frozenset({"metrics"}),
                          create=create)
