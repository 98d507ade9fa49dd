"""kube_state_metrics receiver config (ours: otelcol has no such receiver). Keys mirror
kube-state-metrics' flags: --resources, --namespaces, --metric-labels-allowlist,
--metric-annotations-allowlist."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from collector.config import ConfigError, Duration

from .families import RESOURCES


_ALLOW_ENTRY = re.compile(r"\s*([^=\[\],\s]+)\s*=\s*\[([^\[\]]*)\]\s*(?:,|$)")


def parse_allowlist(text: str) -> dict[str, list[str]]:
    """KSM's --metric-labels-allowlist value: resource=[key,key],resource=[*]."""
    out: dict[str, list[str]] = {}
    pos, text = 0, text.strip()
    while pos < len(text):
        m = _ALLOW_ENTRY.match(text, pos)
        if m is None:
            raise ValueError(f"invalid allowlist {text!r}: expected resource=[key,...],resource=[...]")
        out[m.group(1)] = [k.strip() for k in m.group(2).split(",") if k.strip()]
        pos = m.end()
    return out


@dataclass
class Config:
    auth_type: Literal["none", "serviceAccount", "kubeConfig"] = "serviceAccount"
    context: str = ""
    # How often the current series are emitted (the prometheus exporter serves the latest).
    collection_interval: Duration = Duration(30.0)
    # Resources to expose; [] = all of them (KSM's default set among those we support). Also
    # KSM's --resources form, "pods,nodes".
    resources: list[str] | str = field(default_factory=list)
    # Namespaced resources only from these namespaces; [] = all.
    namespaces: list[str] = field(default_factory=list)
    # resource -> label keys exposed on kube_<resource>_labels as label_<key>; ["*"] = all,
    # "app*" a partial wildcard, resource "*" = every resource. Without an entry a resource has
    # no kube_<resource>_labels series (KSM v2.10+). Also KSM's flag form:
    # "pods=[app,app.kubernetes.io/name],namespaces=[*]".
    metric_labels_allowlist: dict[str, list[str]] | str = field(default_factory=dict)
    # resource -> annotation keys exposed on kube_<resource>_annotations (same forms).
    metric_annotations_allowlist: dict[str, list[str]] | str = field(default_factory=dict)
    # Objects per emitted request: bounds the memory one emission holds at a time.
    objects_per_request: int = 200

    def validate(self) -> None:
        if self.collection_interval <= 0:
            raise ConfigError("collection_interval", "must be positive")
        if self.objects_per_request <= 0:
            raise ConfigError("objects_per_request", "must be positive")
        if isinstance(self.resources, str):
            self.resources = [r.strip() for r in self.resources.split(",") if r.strip()]
        for key in ("resources",):
            for r in getattr(self, key):
                if r not in RESOURCES:
                    raise ConfigError(key, f"unknown resource {r!r}; supported: {', '.join(sorted(RESOURCES))}")
        for key in ("metric_labels_allowlist", "metric_annotations_allowlist"):
            if isinstance(getattr(self, key), str):
                try:
                    setattr(self, key, parse_allowlist(getattr(self, key)))
                except ValueError as e:
                    raise ConfigError(key, str(e)) from None
            for r in getattr(self, key):
                if r != "*" and r not in RESOURCES:
                    raise ConfigError(f"{key}.{r}", f"unknown resource; supported: {', '.join(sorted(RESOURCES))}")

    def selected_resources(self) -> list[str]:
        return list(self.resources) if self.resources else list(RESOURCES)
