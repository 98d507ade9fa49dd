"""Pod metadata for discovered processes, by container id, from the Kubernetes watch layer.

Optional: used only in a cluster (attributes.kubernetes.enable true, or autodetect with
KUBERNETES_SERVICE_HOST set). Watches only this node's pods (spec.nodeName), keeping slim records.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import re
import threading

log = logging.getLogger(__name__)

_RS_HASH = re.compile(r"^(.+)-[a-z0-9]{5,10}$")


@dataclasses.dataclass(frozen=True)
class PodInfo:
    name: str
    namespace: str
    uid: str = ""
    owner_kind: str = ""     # Deployment (resolved from its ReplicaSet), DaemonSet, StatefulSet, Job...
    owner_name: str = ""
    replicaset: str = ""
    node_name: str = ""
    labels: dict = dataclasses.field(default_factory=dict, hash=False, compare=False)
    annotations: dict = dataclasses.field(default_factory=dict, hash=False, compare=False)
    container_ids: tuple = ()
    container_names: dict = dataclasses.field(default_factory=dict, hash=False, compare=False)  # cid -> name

    def container_name(self, container_id: str) -> str:
        return self.container_names.get(container_id, "")

    def resource_attrs(self) -> tuple:
        out = [("k8s.namespace.name", self.namespace), ("k8s.pod.name", self.name),
               ("k8s.pod.uid", self.uid), ("k8s.node.name", self.node_name)]
        kind_key = {"Deployment": "k8s.deployment.name", "DaemonSet": "k8s.daemonset.name",
                    "StatefulSet": "k8s.statefulset.name", "Job": "k8s.job.name",
                    "CronJob": "k8s.cronjob.name"}.get(self.owner_kind)
        if kind_key and self.owner_name:
            out.append((kind_key, self.owner_name))
        if self.replicaset:
            out.append(("k8s.replicaset.name", self.replicaset))
        return tuple((k, v) for k, v in out if v)


def pod_record(obj: dict) -> PodInfo | None:
    """Slim record from a raw pod JSON object; None for malformed objects (counted upstream)."""
    try:
        meta = obj.get("metadata") or {}
        owner_kind, owner_name, rs = "", "", ""
        for ref in meta.get("ownerReferences") or []:
            if ref.get("controller", True):
                owner_kind, owner_name = ref.get("kind", ""), ref.get("name", "")
                break
        if owner_kind == "ReplicaSet":
            # Deployment pods are owned by a ReplicaSet named <deployment>-<pod-template-hash>.
            rs = owner_name
            m = _RS_HASH.match(owner_name)
            if m:
                owner_kind, owner_name = "Deployment", m.group(1)
        elif owner_kind == "Job":
            m = re.match(r"^(.+)-\d{8,}$", owner_name)  # CronJob jobs: <cronjob>-<schedule time>
            if m:
                owner_kind, owner_name = "CronJob", m.group(1)
        status = obj.get("status") or {}
        cids, names = [], {}
        for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
            for cs in status.get(key) or []:
                cid = cs.get("containerID") or ""
                if "://" in cid:
                    cid = cid.split("://", 1)[1]
                    cids.append(cid)
                    if cs.get("name"):
                        names[cid] = cs["name"]
        return PodInfo(name=meta["name"], namespace=meta.get("namespace", ""), uid=meta.get("uid", ""),
                       owner_kind=owner_kind, owner_name=owner_name, replicaset=rs,
                       node_name=(obj.get("spec") or {}).get("nodeName", ""),
                       labels=dict(meta.get("labels") or {}),
                       annotations=dict(meta.get("annotations") or {}), container_ids=tuple(cids),
                       container_names=names)
    except (AttributeError, KeyError, TypeError):
        return None


class PodIndex:
    """container id -> PodInfo, kept current by an Informer on this node's pods."""

    def __init__(self, api_client, node_name: str | None, logger=None, telemetry=None) -> None:
        from collector.k8s.informer import Informer

        self._by_cid: dict[str, PodInfo] = {}
        self._lock = threading.Lock()
        self.malformed = 0
        selector = f"spec.nodeName={node_name}" if node_name else None
        self.informer = Informer(api_client, resource="pods", field_selector=selector,
                                 transform=self._transform, on_add=self._add,
                                 on_update=lambda old, new: (self._remove(old), self._add(new)),
                                 on_delete=self._remove, logger=logger, telemetry=telemetry)

    def _transform(self, obj: dict):
        rec = pod_record(obj)
        if rec is None:
            self.malformed += 1
        return rec

    def _add(self, rec: PodInfo) -> None:
        with self._lock:
            for cid in rec.container_ids:
                self._by_cid[cid] = rec

    def _remove(self, rec: PodInfo) -> None:
        with self._lock:
            for cid in rec.container_ids:
                if self._by_cid.get(cid) is rec:
                    del self._by_cid[cid]

    def lookup(self, container_id: str) -> PodInfo | None:
        with self._lock:
            return self._by_cid.get(container_id)

    def start(self, sync_timeout: float) -> bool:
        self.informer.start()
        return self.informer.wait_synced(sync_timeout)

    def stop(self) -> None:
        self.informer.stop()


def in_cluster(enable) -> bool:
    if enable in (True, "true"):
        return True
    if enable in (False, "false"):
        return False
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
