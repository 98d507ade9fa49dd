"""Where Instrumentation resources come from: a YAML file (local runs) or the API's watch layer.

Both stores answer the two questions the mutator asks: `get(namespace, name)` and
`list(namespace)`. Objects that fail to parse are skipped and counted, never fatal at run time
(a file given on the command line is the exception: it fails the start, as bad config does).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Iterable

import yaml

from collector.operator.instrumentation import KIND, Instrumentation, InstrumentationError, parse

log = logging.getLogger("collector.operator.store")


def _documents(raw: Any) -> Iterable[Any]:
    """Flatten `kind: List` / `InstrumentationList` wrappers, as kubectl accepts them."""
    if isinstance(raw, dict) and isinstance(raw.get("items"), list) and raw.get("kind", "").endswith("List"):
        yield from raw["items"]
    elif raw is not None:
        yield raw


class FileStore:
    """Instrumentations read once from a YAML file holding one or more resources."""

    def __init__(self, instrumentations: Iterable[Instrumentation]):
        self._by_key = {inst.key: inst for inst in instrumentations}

    @classmethod
    def load(cls, path: str, default_namespace: str) -> "FileStore":
        with open(path, encoding="utf-8") as f:
            docs = list(yaml.safe_load_all(f))
        found = []
        for i, doc in enumerate(d for raw in docs for d in _documents(raw)):
            if isinstance(doc, dict) and doc.get("kind", KIND) != KIND:
                continue  # a file may also hold the Deployment that uses the Instrumentation
            try:
                found.append(parse(doc, default_namespace))
            except InstrumentationError as err:
                raise InstrumentationError(f"{path}: resource #{i + 1}: {err}") from None
        if not found:
            raise InstrumentationError(f"{path}: no Instrumentation resource found")
        return cls(found)

    def get(self, namespace: str, name: str) -> Instrumentation | None:
        return self._by_key.get(f"{namespace}/{name}")

    def list(self, namespace: str) -> list[Instrumentation]:
        return [i for i in self._by_key.values() if i.namespace == namespace]


class InformerStore:
    """Instrumentations from a running informer (collector.k8s.informer.Informer).

    The informer hands out the API's objects; parsing is cached per resourceVersion so a hot
    admission path does not re-parse, and an invalid object is logged once per version.
    """

    def __init__(self, informer: Any, default_namespace: str,
                 on_invalid: Callable[[], None] | None = None):
        self._informer = informer
        self._default_namespace = default_namespace
        self._on_invalid = on_invalid
        self._cache: dict[tuple[str, str], tuple[str, Instrumentation | None]] = {}
        self._lock = threading.Lock()

    def _parse(self, obj: Any) -> Instrumentation | None:
        if not isinstance(obj, dict):
            return None
        meta = obj.get("metadata") or {}
        ident = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        version = str(meta.get("resourceVersion", ""))
        with self._lock:
            hit = self._cache.get(ident)
            if hit is not None and hit[0] == version and version:
                return hit[1]
        try:
            inst: Instrumentation | None = parse(obj, self._default_namespace)
        except InstrumentationError as err:
            inst = None
            log.warning("skipping invalid Instrumentation %s/%s: %s", ident[0], ident[1], err)
            if self._on_invalid:
                self._on_invalid()
        with self._lock:
            # Bounded by the number of Instrumentations the API holds; deleted ones are dropped
            # the next time list() sees the namespace.
            self._cache[ident] = (version, inst)
        return inst

    def get(self, namespace: str, name: str) -> Instrumentation | None:
        return self._parse(self._informer.get(namespace, name))

    def list(self, namespace: str) -> list[Instrumentation]:
        objs = [o for o in self._informer.items()
                if isinstance(o, dict) and (o.get("metadata") or {}).get("namespace") == namespace]
        live = {(namespace, str((o.get("metadata") or {}).get("name", ""))) for o in objs}
        with self._lock:
            for ident in [k for k in self._cache if k[0] == namespace and k not in live]:
                del self._cache[ident]
        return [inst for inst in (self._parse(o) for o in objs) if inst is not None]
