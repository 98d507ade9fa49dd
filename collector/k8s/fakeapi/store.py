"""The fake API server's object store: one global resourceVersion counter and an event history,
like etcd behind a real API server.

Every write bumps the global resourceVersion and appends a history entry that watches replay from.
`compact()` forgets the history (etcd compaction): a watch or a list continuation that asks for an
older resourceVersion then gets 410 Gone, which is what forces informers to relist.
"""

from __future__ import annotations

import copy
import datetime
import threading
import uuid
from dataclasses import dataclass

# Kinds whose objects have no namespace. Anything else is namespaced.
CLUSTER_SCOPED_KINDS = frozenset({
    "Node", "Namespace", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "StorageClass",
    "CustomResourceDefinition", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "PriorityClass", "APIService", "CertificateSigningRequest", "RuntimeClass", "IngressClass",
    "CSIDriver", "CSINode", "VolumeAttachment",
})

_IRREGULAR_PLURALS = {"Endpoints": "endpoints", "EndpointSlice": "endpointslices",
                      "Ingress": "ingresses", "NetworkPolicy": "networkpolicies",
                      "PodSecurityPolicy": "podsecuritypolicies"}

# Bounded so a long-running fake server (run by hand) does not grow without limit; older entries
# are compacted away exactly as compact() does.
DEFAULT_HISTORY_LIMIT = 200_000


def plural_of(kind: str) -> str:
    if kind in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[kind]
    low = kind.lower()
    if low.endswith("s") or low.endswith("x") or low.endswith("ch"):
        return low + "es"
    if low.endswith("y") and low[-2:-1] not in "aeiou":
        return low[:-1] + "ies"
    return low + "s"


def split_api_version(api_version: str) -> tuple[str, str]:
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return group, version
    return "", api_version


@dataclass(frozen=True)
class ResourceKey:
    group: str
    version: str
    plural: str


@dataclass
class HistoryEntry:
    rv: int
    resource: ResourceKey
    type: str           # ADDED | MODIFIED | DELETED
    obj: dict           # the object after the change (for DELETED: its last state)
    old: dict | None    # the object before the change (MODIFIED only)


class Conflict(Exception):
    """409: the object exists already, or the write's resourceVersion is stale."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class NotFound(Exception):
    pass


class Gone(Exception):
    """410: the requested resourceVersion was compacted away."""


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ObjectStore:
    def __init__(self, history_limit: int = DEFAULT_HISTORY_LIMIT):
        self.cond = threading.Condition()
        self.rv = 1
        self.compacted_rv = 0       # watches from an rv below this get 410
        self.history: list[HistoryEntry] = []
        self.history_base = 0       # absolute index of history[0]
        self.history_limit = history_limit
        self.objects: dict[ResourceKey, dict[tuple[str, str], dict]] = {}
        self.kinds: dict[ResourceKey, str] = {}
        self.namespaced: dict[ResourceKey, bool] = {}

    # -- resources -------------------------------------------------------------------------
    def resource_for(self, obj: dict) -> ResourceKey:
        group, version = split_api_version(obj.get("apiVersion") or "v1")
        kind = obj.get("kind") or ""
        if not kind:
            raise ValueError("object has no kind")
        key = ResourceKey(group, version, plural_of(kind))
        self.kinds.setdefault(key, kind)
        self.namespaced.setdefault(key, kind not in CLUSTER_SCOPED_KINDS)
        return key

    def register(self, key: ResourceKey, kind: str, namespaced: bool) -> None:
        with self.cond:
            self.kinds.setdefault(key, kind)
            self.namespaced.setdefault(key, namespaced)

    def kind_of(self, key: ResourceKey) -> str:
        if key in self.kinds:
            return self.kinds[key]
        # A resource nobody created yet: derive a plausible kind from the plural.
        singular = key.plural[:-3] + "y" if key.plural.endswith("ies") else key.plural.rstrip("s")
        return singular[:1].upper() + singular[1:]

    def is_namespaced(self, key: ResourceKey) -> bool:
        return self.namespaced.get(key, True)

    # -- writes ----------------------------------------------------------------------------
    def _append(self, key: ResourceKey, type_: str, obj: dict, old: dict | None) -> None:
        self.history.append(HistoryEntry(self.rv, key, type_, obj, old))
        if len(self.history) > self.history_limit:
            drop = len(self.history) - self.history_limit
            self.compacted_rv = self.history[drop].rv
            del self.history[:drop]
            self.history_base += drop
        self.cond.notify_all()

    def create(self, obj: dict, key: ResourceKey | None = None) -> dict:
        obj = copy.deepcopy(obj)
        with self.cond:
            key = key or self.resource_for(obj)
            meta = obj.setdefault("metadata", {})
            if not meta.get("name"):
                if meta.get("generateName"):
                    meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
                else:
                    raise ValueError("metadata.name is required")
            ns = meta.get("namespace") or ("default" if self.is_namespaced(key) else "")
            if ns:
                meta["namespace"] = ns
            bucket = self.objects.setdefault(key, {})
            if (ns, meta["name"]) in bucket:
                raise Conflict("AlreadyExists", f'{key.plural} "{meta["name"]}" already exists')
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", _now())
            bucket[(ns, meta["name"])] = obj
            self._append(key, "ADDED", obj, None)
            return copy.deepcopy(obj)

    def update(self, obj: dict, key: ResourceKey | None = None, check_rv: bool = False) -> dict:
        """Replaces an object. With check_rv (PUT from a client), a resourceVersion that is not
        the current one is a 409 Conflict: this is what leader election relies on."""
        obj = copy.deepcopy(obj)
        with self.cond:
            key = key or self.resource_for(obj)
            meta = obj.setdefault("metadata", {})
            ns = meta.get("namespace") or ("default" if self.is_namespaced(key) else "")
            if ns:
                meta["namespace"] = ns
            bucket = self.objects.setdefault(key, {})
            old = bucket.get((ns, meta.get("name", "")))
            if old is None:
                raise NotFound(f'{key.plural} "{meta.get("name")}" not found')
            sent_rv = meta.get("resourceVersion")
            if check_rv and sent_rv and sent_rv != old["metadata"]["resourceVersion"]:
                raise Conflict("Conflict", f'Operation cannot be fulfilled on {key.plural} '
                               f'"{meta["name"]}": the object has been modified; please apply '
                               f'your changes to the latest version and try again')
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            meta["uid"] = old["metadata"].get("uid")
            meta["creationTimestamp"] = old["metadata"].get("creationTimestamp")
            bucket[(ns, meta["name"])] = obj
            self._append(key, "MODIFIED", obj, old)
            return copy.deepcopy(obj)

    def delete(self, key: ResourceKey, namespace: str | None, name: str) -> dict:
        with self.cond:
            bucket = self.objects.get(key, {})
            obj = bucket.pop((namespace or "", name), None)
            if obj is None:
                raise NotFound(f'{key.plural} "{name}" not found')
            self.rv += 1
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self._append(key, "DELETED", obj, None)
            return obj

    def compact(self) -> None:
        with self.cond:
            self.history_base += len(self.history)
            self.history.clear()
            self.compacted_rv = self.rv

    # -- reads -----------------------------------------------------------------------------
    def get(self, key: ResourceKey, namespace: str | None, name: str) -> dict:
        with self.cond:
            obj = self.objects.get(key, {}).get((namespace or "", name))
            if obj is None:
                raise NotFound(f'{key.plural} "{name}" not found')
            return copy.deepcopy(obj)

    def snapshot(self, key: ResourceKey, namespace: str | None) -> tuple[int, list[dict]]:
        """All objects of a resource sorted by (namespace, name), and the rv they are valid at.
        Objects are shared, not copied: writers replace whole objects and never mutate them."""
        with self.cond:
            bucket = self.objects.get(key, {})
            keys = sorted(k for k in bucket if namespace is None or k[0] == namespace)
            return self.rv, [bucket[k] for k in keys]
