"""The k8sattributes view of the cluster: informers on pods (and, when rules need them,
namespaces, nodes and replicasets) feeding lookup tables keyed by association identifiers.

Readers (the processor's hot path) only do dict lookups; writers are the informer threads.
Deleted pods stay findable for a grace period, because their last telemetry often arrives after
the delete (upstream keeps them 2 minutes too); an IP reused by a new pod in the meantime wins.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Callable

from .association import Identifier, Source, pod_identifiers
from .config import Config
from .records import (OwnerRecord, PodRecord, Rules, namespace_record, node_record, pod_record,
                      replicaset_record)

POD_DELETE_GRACE_SECONDS = 120.0


class PodCache:
    def __init__(self, config: Config, associations: list[list[Source]], logger, telemetry=None,
                 clock: Callable[[], float] = time.monotonic,
                 delete_grace_seconds: float | None = None):
        self.config = config
        self.rules = Rules(config.extract)
        self.associations = associations
        self.logger = logger
        self.telemetry = telemetry
        self.clock = clock
        self.delete_grace_seconds = (POD_DELETE_GRACE_SECONDS if delete_grace_seconds is None
                                     else delete_grace_seconds)
        self.excludes = config.exclude.patterns()
        self._lock = threading.Lock()
        self._by_id: dict[Identifier, PodRecord] = {}
        self._deleted: collections.deque = collections.deque()   # (due, identifiers, pod uid)
        self.informers: list = []
        self.pods = self.namespaces = self.nodes = self.replicasets = None
        self._m = None
        if telemetry is not None:
            # upstream's otelsvc/k8s/* views
            c = telemetry.counter
            self._m = {
                "pod_added": c("otelcol_otelsvc_k8s_pod_added", "Number of pod add events received"),
                "pod_updated": c("otelcol_otelsvc_k8s_pod_updated", "Number of pod update events received"),
                "pod_deleted": c("otelcol_otelsvc_k8s_pod_deleted", "Number of pod delete events received"),
                "ip_lookup_miss": c("otelcol_otelsvc_k8s_ip_lookup_miss",
                                    "Number of times pod by IP lookup failed."),
                "table_size": telemetry.gauge("otelcol_otelsvc_k8s_pod_table_size", "Size of table containing pod info"),
            }

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, api_client) -> None:
        from collector.k8s.informer import Informer

        common = dict(logger=self.logger, telemetry=self.telemetry)
        label_selector, field_selector = self._selectors()
        self.pods = Informer(api_client, "pods", namespace=self.config.filter.namespace or None,
                             label_selector=label_selector, field_selector=field_selector,
                             transform=lambda raw: pod_record(raw, self.rules, self.excludes),
                             on_add=self._on_pod_add, on_update=self._on_pod_update,
                             on_delete=self._on_pod_delete, **common)
        self.informers = [self.pods]
        if self.rules.needs_namespaces:
            self.namespaces = Informer(api_client, "namespaces",
                                       transform=lambda raw: namespace_record(raw, self.rules), **common)
            self.informers.append(self.namespaces)
        if self.rules.needs_nodes:
            node = self.config.filter.node_name()
            self.nodes = Informer(api_client, "nodes", field_selector=f"metadata.name={node}" if node else None,
                                  transform=lambda raw: node_record(raw, self.rules), **common)
            self.informers.append(self.nodes)
        if self.rules.needs_replicasets:
            self.replicasets = Informer(api_client, "replicasets", group="apps", version="v1",
                                        namespace=self.config.filter.namespace or None,
                                        transform=replicaset_record, **common)
            self.informers.append(self.replicasets)
        for inf in self.informers:
            inf.start()

    def wait_synced(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        return all(inf.wait_synced(max(0.0, deadline - time.monotonic())) for inf in self.informers)

    def stop(self) -> None:
        for inf in self.informers:
            inf.stop()

    def _selectors(self) -> tuple[str | None, str | None]:
        """filter.* as list/watch selectors, so the API server sends only the pods we may use."""
        f = self.config.filter
        fields = []
        node = f.node_name()
        if node:
            fields.append(f"spec.nodeName={node}")
        for ff in f.fields:
            fields.append(f"{ff.key}{'!=' if ff.op == 'not-equals' else '='}{ff.value}")
        labels = []
        for lf in f.labels:
            if lf.op == "exists":
                labels.append(lf.key)
            elif lf.op == "does-not-exist":
                labels.append(f"!{lf.key}")
            else:
                labels.append(f"{lf.key}{'!=' if lf.op == 'not-equals' else '='}{lf.value}")
        return (",".join(labels) or None), (",".join(fields) or None)

    # -- informer callbacks (informer threads) ----------------------------------------------
    def _index(self, pod: PodRecord) -> None:
        if pod.ignored:
            return
        with self._lock:
            for ident in pod_identifiers(pod, self.associations):
                self._by_id[ident] = pod
            size = len(self._by_id)
        if self._m:
            self._m["table_size"].set(size)

    def _on_pod_add(self, pod: PodRecord) -> None:
        self._sweep()
        if self._m:
            self._m["pod_added"].inc()
        self._index(pod)

    def _on_pod_update(self, old: PodRecord, new: PodRecord) -> None:
        self._sweep()
        if self._m:
            self._m["pod_updated"].inc()
        stale = set(pod_identifiers(old, self.associations)) - set(pod_identifiers(new, self.associations))
        if stale:
            # e.g. an IP the pod lost: keep it findable for the grace period, like a delete
            self._deleted.append((self.clock() + self.delete_grace_seconds, list(stale), old.uid))
        if new.ignored:
            self._forget(pod_identifiers(new, self.associations), new.uid)
        self._index(new)

    def _on_pod_delete(self, pod: PodRecord) -> None:
        if self._m:
            self._m["pod_deleted"].inc()
        self._deleted.append((self.clock() + self.delete_grace_seconds,
                              pod_identifiers(pod, self.associations), pod.uid))
        self._sweep()

    def _forget(self, identifiers, uid: str) -> None:
        with self._lock:
            for ident in identifiers:
                current = self._by_id.get(ident)
                if current is not None and current.uid == uid:  # not if a new pod took it over
                    del self._by_id[ident]

    def _sweep(self) -> None:
        now = self.clock()
        while self._deleted:
            try:
                due, identifiers, uid = self._deleted[0]
            except IndexError:
                return
            if due > now:
                return
            try:
                self._deleted.popleft()
            except IndexError:
                return
            self._forget(identifiers, uid)

    # -- lookups (hot path) -----------------------------------------------------------------
    def pod(self, identifier: Identifier) -> PodRecord | None:
        self._sweep()
        pod = self._by_id.get(identifier)
        if pod is None and self._m:
            self._m["ip_lookup_miss"].inc()
        return pod

    def namespace(self, name: str) -> OwnerRecord | None:
        return self.namespaces.get(None, name) if self.namespaces else None

    def node(self, name: str) -> OwnerRecord | None:
        return self.nodes.get(None, name) if self.nodes else None

    def replicaset(self, namespace: str, name: str) -> OwnerRecord | None:
        return self.replicasets.get(namespace, name) if self.replicasets else None

    def __len__(self) -> int:
        return len(self._by_id)
