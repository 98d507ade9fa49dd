"""k8s_cluster receiver: informers over the cluster's objects, and every collection_interval one
metrics request built from their caches (as otelcol-contrib's k8sclusterreceiver does).

With `k8s_leader_elector`, informers and the ticker run only while this replica leads.
"""
from __future__ import annotations

import threading
import time

from collector.component import Component, Payload, PermanentError, Refused
from collector.extensions.k8s_leader_elector.gate import LeaderGate
from collector.pdata import count_items, new_request

from . import object_metrics as om
from .api_pool import widen_connection_pool
from .config import Config

BUILDERS = {"pod": om.pod_metrics, "node": om.node_metrics, "namespace": om.namespace_metrics,
            "resourcequota": om.resourcequota_metrics,
            "replicationcontroller": om.replicationcontroller_metrics,
            "deployment": om.deployment_metrics, "replicaset": om.replicaset_metrics,
            "daemonset": om.daemonset_metrics, "statefulset": om.statefulset_metrics,
            "job": om.job_metrics, "cronjob": om.cronjob_metrics, "hpa": om.hpa_metrics}

# (plural, group, version, cluster_scoped, builder name)
RESOURCES = (
    ("pods", "", "v1", False, "pod"),
    ("nodes", "", "v1", True, "node"),
    ("namespaces", "", "v1", True, "namespace"),
    ("resourcequotas", "", "v1", False, "resourcequota"),
    ("replicationcontrollers", "", "v1", False, "replicationcontroller"),
    ("deployments", "apps", "v1", False, "deployment"),
    ("replicasets", "apps", "v1", False, "replicaset"),
    ("daemonsets", "apps", "v1", False, "daemonset"),
    ("statefulsets", "apps", "v1", False, "statefulset"),
    ("jobs", "batch", "v1", False, "job"),
    ("cronjobs", "batch", "v1", False, "cronjob"),
    ("horizontalpodautoscalers", "autoscaling", "v2", False, "hpa"),
)


class K8sClusterReceiver(Component):
    def __init__(self, settings, config: Config, consumers: dict, api_client=None):
        self.settings = settings
        self.config = config
        self.consumer = consumers["metrics"]
        self.log = settings.logger
        self.telemetry = settings.telemetry
        self._api_client = api_client
        self._informers: list = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._enabled_metrics = config.enabled_metrics()
        self._enabled_attrs = config.enabled_resource_attributes()
        self._gate = LeaderGate(self._start_work, self._stop_work, config.k8s_leader_elector, self.log)
        self.collections = 0  # completed emissions (tests, benchmark)
        self._bad = self.telemetry.counter("skuber_k8s_cluster_bad_objects",
                                           "Object fields that could not be read (skipped).")

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, host) -> None:
        if self._api_client is None:
            from collector.k8s.client import make_api_client
            self._api_client = make_api_client(self.config.auth_type, context=self.config.context or None)
        self._gate.start(host)

    def shutdown(self, deadline: float) -> None:
        self._gate.shutdown()

    def _start_work(self) -> None:
        from collector.k8s.informer import Informer
        namespaces = self.config.watched_namespaces()
        widen_connection_pool(self._api_client, len(RESOURCES) * max(1, len(namespaces)) + 4)
        self._informers = []
        for plural, group, version, cluster_scoped, kind in RESOURCES:
            if cluster_scoped and namespaces:
                continue  # cluster-wide objects cannot be watched with namespaced permissions
            for ns in (namespaces or [None]):
                inf = Informer(self._api_client, resource=plural, group=group, version=version,
                               namespace=ns, transform=om.slim, logger=self.log,
                               telemetry=self.telemetry)
                self._informers.append((kind, inf))
                inf.start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(self._stop,), daemon=True,
                                        name=f"k8s_cluster-{self.settings.id}")
        self._thread.start()
        self.log.info("k8s_cluster: collecting", extra={"informers": len(self._informers)})

    def _stop_work(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10.0)
        for _, inf in self._informers:
            inf.stop()
        self._informers = []

    # -- collection -----------------------------------------------------------------------
    def _loop(self, stop: threading.Event) -> None:
        # Wait (bounded) for the first full lists so the first emission is complete.
        deadline = time.monotonic() + max(30.0, self.config.collection_interval)
        for _, inf in self._informers:
            if stop.is_set() or not inf.wait_synced(max(0.0, deadline - time.monotonic())):
                break
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.collect_once()
            except Exception:  # a bug in one collection must not end collection for good
                self.log.exception("k8s_cluster: collection failed")
            if stop.wait(max(0.0, self.config.collection_interval - (time.monotonic() - started))):
                return

    def build_request(self):
        """One ExportMetricsServiceRequest from the informer caches."""
        request = new_request("metrics")
        em = om.Emitter(request, int(self.settings.clock() * 1e9), self._enabled_metrics, self._enabled_attrs,
                        self.settings.build_info.version)
        for kind, inf in self._informers:
            build = BUILDERS[kind]
            for obj in inf.items():
                try:
                    if kind == "node":
                        build(em, obj, self.config.node_conditions_to_report,
                              self.config.allocatable_types_to_report)
                    else:
                        build(em, obj)
                except (AttributeError, TypeError, ValueError, ArithmeticError) as e:
                    # a malformed object: skip it, count it, keep the rest of the request
                    em.errors.append(f"{kind}: {e}")
        if em.errors:
            self._bad.inc(len(em.errors))
            self.log.debug("k8s_cluster: skipped bad fields", extra={"errors": em.errors[:5]})
        return request

    def collect_once(self) -> None:
        request = self.build_request()
        n = count_items("metrics", request)
        if not n:
            return
        payload = Payload("metrics", request)
        try:
            self.consumer.consume(payload)
        except (Refused, PermanentError) as e:
            # Metrics are re-read from the caches next interval: a refused snapshot is dropped.
            self.telemetry.receiver_refused("metrics", n)
            self.telemetry.dropped("metrics", n, "refused")
            self.log.warning("k8s_cluster: metrics refused: %s", e)
            return
        self.telemetry.receiver_accepted("metrics", n)
        self.collections += 1
