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
from .object_cache import ObjectMetricsCache


def slim(obj: dict, keep_annotations: bool) -> dict:
    """Drop what no family reads and what weighs most (managedFields, the last-applied
    annotation, pod templates, env and probes): informer caches hold every object."""
    md = dict(obj.get("metadata") or {})
    md.pop("managedFields", None)
    if keep_annotations:
        ann = dict(md.get("annotations") or {})
        ann.pop("kubectl.kubernetes.io/last-applied-configuration", None)
        md["annotations"] = ann
    else:
        md.pop("annotations", None)
    out = {"metadata": md, "status": obj.get("status") or {}}
    spec = dict(obj.get("spec") or {})
    spec.pop("template", None)
    spec.pop("jobTemplate", None)
    if "containers" in spec:
        spec["containers"] = [{"name": c.get("name"), "image": c.get("image"), "resources": c.get("resources") or {}}
                              for c in spec["containers"] if isinstance(c, dict)]
    if "volumes" in spec:
        spec["volumes"] = [v for v in spec["volumes"] if isinstance(v, dict) and v.get("persistentVolumeClaim")]
    spec.pop("initContainers", None)
    spec.pop("tolerations", None)
    spec.pop("affinity", None)
    out["spec"] = spec
    return out


class KubeStateMetricsReceiver(Component):
    def __init__(self, settings, config: Config, consumers: dict, api_client=None):
        self.settings = settings
        self.config = config
        self.consumer = consumers["metrics"]
        self.log = settings.logger
        self.telemetry = settings.telemetry
        self._api_client = api_client
        self.ctx = Context(config.metric_labels_allowlist, config.metric_annotations_allowlist)
        self.cache = ObjectMetricsCache(time.time_ns)
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
            keep_ann = bool(self.config.metric_annotations_allowlist.get(resource))
            for ns in ([None] if cluster_scoped or not self.config.namespaces else self.config.namespaces):
                inf = Informer(self._api_client, resource=plural, group=group, version=version, namespace=ns,
                               transform=lambda o, k=keep_ann: slim(o, k),
                               on_add=self._handler(resource, rows_fn, "add"),
                               on_update=self._handler(resource, rows_fn, "update"),
                               on_delete=self._handler(resource, rows_fn, "delete"),
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
    def _rows(self, rows_fn, obj):
        try:
            return rows_fn(obj, self.ctx)
        except (AttributeError, TypeError, ValueError, KeyError):
            self._bad.inc()
            self.log.debug("kube_state_metrics: skipped malformed object", exc_info=True)
            return None

    def _handler(self, resource: str, rows_fn, kind: str):
        def key_of(obj):
            md = obj.get("metadata") or {}
            return resource, md.get("namespace", ""), md.get("name", "")

        if kind == "add":
            def on_add(obj):
                rows = self._rows(rows_fn, obj)
                if rows is not None:
                    self.cache.put(key_of(obj), rows)
            return on_add
        if kind == "update":
            def on_update(old, new):
                rows = self._rows(rows_fn, new)
                if rows is not None:
                    self.cache.put(key_of(new), rows, self._rows(rows_fn, old))
            return on_update

        def on_delete(obj):
            self.cache.remove(key_of(obj), self._rows(rows_fn, obj) or [])
        return on_delete

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
