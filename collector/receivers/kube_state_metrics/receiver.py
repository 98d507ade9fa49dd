"""kube_state_metrics receiver: informers over the selected resources keep per-object encoded
series (ObjectMetricsCache); every collection_interval, and once right after the first full
sync, the current series go down the pipeline (typically to the prometheus exporter, which
serves them at /metrics as kube-state-metrics does)."""
from __future__ import annotations

import threading
import time

from collector.component import Component, Payload, PermanentError, Refused
from collector.pdata import count_items

from collector.receivers.k8s_cluster.api_pool import widen_connection_pool

from .config import Config
from .families import RESOURCES
from .families.common import Context
from .object_cache import ObjectMetricsCache, render


class KubeStateMetricsReceiver(Component):
    def __init__(self, settings, config: Config, consumers: dict, api_client=None):
        self.settings = settings
        self.config = config
        self.consumer = consumers["metrics"]
        self.log = settings.logger
        self.telemetry = settings.telemetry
        self._api_client = api_client
        self.ctx = Context(config.metric_labels_allowlist, config.metric_annotations_allowlist)
        self.cache = ObjectMetricsCache()
        self.renders = 0  # objects rendered: proportional to changes (tests, benchmark)
        self._informers: list = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.emissions = 0
        self.first_emission_at: float | None = None  # monotonic; the benchmark reads it
        self._bad = self.telemetry.counter("skuber_kube_state_metrics_bad_objects",
                                           "Objects whose metrics could not be built (skipped).")

    def start(self, host) -> None:
        from collector.k8s.informer import Informer
        if self._api_client is None:
            from collector.k8s.client import make_api_client
            self._api_client = make_api_client(self.config.auth_type, context=self.config.context or None)
        widen_connection_pool(self._api_client,
                              len(self.config.selected_resources()) * max(1, len(self.config.namespaces)) + 4)
        for resource in self.config.selected_resources():
            plural, group, version, rows_fn, cluster_scoped = RESOURCES[resource]
            for ns in ([None] if cluster_scoped or not self.config.namespaces else self.config.namespaces):
                # The informer keeps (key, rendered blob) records instead of the objects.
                inf = Informer(self._api_client, resource=plural, group=group, version=version, namespace=ns,
                               transform=lambda obj, r=resource, f=rows_fn: self._render(r, f, obj),
                               on_add=self._on_add, on_update=self._on_update, on_delete=self._on_delete,
                               logger=self.log, telemetry=self.telemetry)
                self._informers.append(inf)
                inf.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True, name=f"ksm-{self.settings.id}")
        self._thread.start()

    def shutdown(self, deadline: float) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(max(0.1, deadline - time.monotonic()))
        for inf in self._informers:
            inf.stop()
        self._informers = []

    # -- informer callbacks ---------------------------------------------------------------
    def _render(self, resource: str, rows_fn, obj: dict):
        md = obj.get("metadata") or {}
        try:
            rows = rows_fn(obj, self.ctx)
            blob = render(rows, int(self.settings.clock() * 1e9))
        except (AttributeError, TypeError, ValueError, KeyError, ArithmeticError):
            # a malformed object: skipped and counted; the informer then holds nothing for it
            self._bad.inc()
            self.log.debug("kube_state_metrics: skipped malformed %s %s", resource, md.get("name"), exc_info=True)
            return None
        self.renders += 1
        return (resource, md.get("namespace", ""), md.get("name", "")), blob

    def _on_add(self, record) -> None:
        self.cache.put(record[0], record[1])

    def _on_update(self, old, new) -> None:
        self.cache.put(new[0], new[1], old[1])

    def _on_delete(self, record) -> None:
        self.cache.remove(record[0], record[1])

    # -- emission -------------------------------------------------------------------------
    def _loop(self) -> None:
        # First emission as soon as every informer listed: the endpoint is complete early.
        deadline = time.monotonic() + max(60.0, self.config.collection_interval)
        for inf in self._informers:
            while not inf.wait_synced(0.2):
                if self._stop.is_set() or time.monotonic() > deadline:
                    break
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.emit_once()
            except Exception:  # one failed emission must not end the loop
                self.log.exception("kube_state_metrics: emission failed")
            if self._stop.wait(max(0.0, self.config.collection_interval - (time.monotonic() - started))):
                return

    def emit_once(self) -> None:
        sent = False
        for request in self.cache.snapshot(self.config.objects_per_request):
            n = count_items("metrics", request)
            if not n:
                continue
            try:
                self.consumer.consume(Payload("metrics", request))
            except (Refused, PermanentError) as e:
                # The next interval sends the full state again; this part is dropped (counted).
                self.telemetry.receiver_refused("metrics", n)
                self.telemetry.dropped("metrics", n, "refused")
                self.log.warning("kube_state_metrics: emission refused: %s", e)
                continue
            self.telemetry.receiver_accepted("metrics", n)
            sent = True
        if not sent:
            return
        self.emissions += 1
        if self.first_emission_at is None:
            self.first_emission_at = time.monotonic()
