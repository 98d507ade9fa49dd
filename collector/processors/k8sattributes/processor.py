"""`k8sattributes` processor: adds pod, workload, namespace, node and container metadata to every
resource it can associate with a pod. The hot path never calls the API server: it reads the
tables the informers keep (pod_cache.py). Attributes already on a resource are never overwritten.
"""

from __future__ import annotations

import threading

from ... import pdata
from ...component import Component, Payload
from .association import DEFAULT_ASSOCIATIONS, Source, connection_ip, resource_identifier
from .config import Config
from .pod_cache import PodCache
from .records import PodRecord, strip_runtime

# One PodCache per component id: a processor used by three pipelines gets three instances from
# the engine, but they should share one set of watches.
_SHARED: dict[str, list] = {}      # id -> [PodCache, users]
_SHARED_LOCK = threading.Lock()


def associations_of(config: Config) -> list[list[Source]]:
    return [[(s.from_, s.name if s.from_ == "resource_attribute" else "") for s in a.sources]
            for a in config.pod_association]


class K8sAttributesProcessor(Component):
    def __init__(self, settings, config: Config, signal: str, next_consumer, api_client_factory=None):
        self.settings = settings
        self.config = config
        self.signal = signal
        self.next = next_consumer
        self.log = settings.logger
        self.associations = associations_of(config)
        self._api_client_factory = api_client_factory
        self.cache: PodCache | None = None
        self._key = str(settings.id)

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, host) -> None:
        if self.config.passthrough:
            return  # passthrough needs no API access at all
        with _SHARED_LOCK:
            entry = _SHARED.get(self._key)
            if entry is None:
                cache = PodCache(self.config, self.associations or DEFAULT_ASSOCIATIONS, self.log,
                                 self.settings.telemetry)
                cache.start(self._make_api_client())
                entry = _SHARED[self._key] = [cache, 0]
            entry[1] += 1
            self.cache = entry[0]
        if self.config.wait_for_metadata:
            if not self.cache.wait_synced(self.config.wait_for_metadata_timeout):
                self._release()
                raise RuntimeError(f"failed to wait for caches to sync within "
                                   f"{self.config.wait_for_metadata_timeout}s (wait_for_metadata)")

    def _make_api_client(self):
        if self._api_client_factory is not None:
            return self._api_client_factory()
        from collector.k8s.client import make_api_client

        return make_api_client(self.config.auth_type, context=self.config.context or None)

    def shutdown(self, deadline: float) -> None:
        self._release()

    def _release(self) -> None:
        with _SHARED_LOCK:
            entry = _SHARED.get(self._key)
            if entry is None or self.cache is None:
                return
            entry[1] -= 1
            if entry[1] <= 0:
                del _SHARED[self._key]
                entry[0].stop()
            self.cache = None

    # -- data -------------------------------------------------------------------------------
    def consume(self, payload: Payload) -> None:
        for rs in pdata.resources(self.signal, payload.request):
            try:
                self.enrich(rs.resource.attributes, payload.client_addr)
            except Exception:  # noqa: BLE001 - a malformed resource is passed on untouched
                self.log.exception("k8sattributes: failed to enrich a resource")
        self.next.consume(payload)

    def enrich(self, attributes, client_addr: str | None) -> None:
        attrs = pdata.attrs_to_dict(attributes)
        identifier = resource_identifier(attrs, client_addr, self.associations)
        ip = connection_ip(identifier)
        if ip:
            pdata.set_attr(attributes, "k8s.pod.ip", ip, overwrite=False)
        if self.config.passthrough or self.cache is None:
            return
        pod = self.cache.pod(identifier) if identifier else None
        rules = self.cache.rules
        added: dict = {}
        if pod is not None:
            added.update(pod.attrs)
            self._container_attrs(pod, attrs, added)
            if pod.replicaset and rules.needs_replicasets:
                rs = self.cache.replicaset(pod.namespace, pod.replicaset[0])
                if rs is not None and rs.owner_uid:
                    added["k8s.deployment.uid"] = rs.owner_uid
        namespace = attrs.get("k8s.namespace.name") or added.get("k8s.namespace.name") or (pod.namespace if pod else "")
        if namespace and self.cache.namespaces is not None:
            ns = self.cache.namespace(str(namespace))
            if ns is not None:
                added.update(ns.attrs)
        node_name = (pod.node if pod else "") or attrs.get("k8s.node.name")
        if node_name and self.cache.nodes is not None:
            node = self.cache.node(str(node_name))
            if node is not None:
                added.update(node.attrs)
                if "k8s.node.uid" in rules.metadata:
                    added["k8s.node.uid"] = node.uid
        if "k8s.cluster.uid" in rules.metadata and self.cache.namespaces is not None:
            kube_system = self.cache.namespace("kube-system")
            if kube_system is not None:
                added["k8s.cluster.uid"] = kube_system.uid
        for key, value in added.items():
            pdata.set_attr(attributes, key, value, overwrite=False)

    def _container_attrs(self, pod: PodRecord, attrs: dict, out: dict) -> None:
        """Container metadata needs the resource to say which container: container.id, or
        k8s.container.name (with k8s.container.restart_count to pick the instance)."""
        want = self.cache.rules.metadata
        cid = attrs.get("container.id")
        name = attrs.get("k8s.container.name")
        if cid and not name:
            name = pod.container_names_by_id.get(strip_runtime(str(cid)))
            if name and "k8s.container.name" in want:
                out["k8s.container.name"] = name
        info = pod.containers.get(str(name)) if name else None
        if info is None:
            return
        if "container.image.name" in want and info.image_name:
            out["container.image.name"] = info.image_name
        if "container.image.tag" in want and info.image_tag:
            out["container.image.tag"] = info.image_tag
        if "container.image.repo_digests" in want and info.repo_digests:
            out["container.image.repo_digests"] = list(info.repo_digests)  # a string array, as upstream
        if "container.id" in want and not cid and info.ids:
            restart = attrs.get("k8s.container.restart_count")
            try:
                chosen = info.ids.get(int(restart)) if restart is not None else None
            except (TypeError, ValueError):
                chosen = None
            if chosen is None and restart is None and len(info.ids) == 1:
                chosen = next(iter(info.ids.values()))
            if chosen:
                out["container.id"] = chosen
