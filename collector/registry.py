"""Finds every component factory: each package under receivers/, processors/, exporters/ and
extensions/ that defines `factory`, plus the eBPF `apm` receiver in the top-level `ebpf` package.

Discovery (rather than a hand-kept list) lets a component be added by adding its folder.
"""
from __future__ import annotations

import importlib
import logging
import pkgutil
from functools import lru_cache

from .component import ExporterFactory, ExtensionFactory, ProcessorFactory, ReceiverFactory

_KIND_PACKAGES = {
    "receiver": "collector.receivers",
    "processor": "collector.processors",
    "exporter": "collector.exporters",
    "extension": "collector.extensions",
}
_EXTRA_MODULES = {"receiver": ["ebpf.receiver"]}
_FACTORY_TYPES = {
    "receiver": ReceiverFactory,
    "processor": ProcessorFactory,
    "exporter": ExporterFactory,
    "extension": ExtensionFactory,
}

log = logging.getLogger("collector.registry")


class Registry:
    def __init__(self, factories: dict[str, dict[str, object]]) -> None:
        self._factories = factories

    def get(self, kind: str, type_: str):
        return self._factories.get(kind, {}).get(type_)

    def types(self, kind: str) -> list[str]:
        return sorted(self._factories.get(kind, {}))

    def add(self, factory) -> None:
        self._factories.setdefault(factory.kind, {})[factory.type] = factory


def _modules(kind: str) -> list[str]:
    pkg = importlib.import_module(_KIND_PACKAGES[kind])
    names = [f"{pkg.__name__}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__) if m.ispkg]
    return sorted(names) + _EXTRA_MODULES.get(kind, [])


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    factories: dict[str, dict[str, object]] = {}
    for kind in _KIND_PACKAGES:
        for mod_name in _modules(kind):
            try:
                mod = importlib.import_module(mod_name)
            except ModuleNotFoundError as e:
                if e.name and mod_name.startswith(e.name):
                    continue  # an optional top-level package (ebpf) that is not installed
                raise
            factory = getattr(mod, "factory", None)
            if factory is None:
                continue
            if not isinstance(factory, _FACTORY_TYPES[kind]):
                raise TypeError(f"{mod_name}.factory is not a {_FACTORY_TYPES[kind].__name__}")
            factories.setdefault(kind, {})[factory.type] = factory
    return Registry(factories)
