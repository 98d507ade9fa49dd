"""kube_state_metrics receiver config (ours: otelcol has no such receiver). Keys mirror
kube-state-metrics' flags: --resources, --namespaces, --metric-labels-allowlist,
--metric-annotations-allowlist."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from collector.config import ConfigError, Duration

from .families import RESOURCES


@dataclass
class Config:
    auth_type: Literal["none", "serviceAccount", "kubeConfig"] = "serviceAccount"
    context: str = ""
    # How often the current series are emitted (the prometheus exporter serves the latest).
    collection_interval: Duration = Duration(30.0)
    # Resources to expose; [] = all of them (KSM's default set among those we support).
    resources: list[str] = field(default_factory=list)
    # Namespaced resources only from these namespaces; [] = all.
    namespaces: list[str] = field(default_factory=list)
    # resource -> label keys exposed on kube_<resource>_labels as label_<key>; ["*"] = all.
    metric_labels_allowlist: dict[str, list[str]] = field(default_factory=dict)
    # resource -> annotation keys exposed on kube_<resource>_annotations.
    metric_annotations_allowlist: dict[str, list[str]] = field(default_factory=dict)
    # Objects per emitted request: bounds the memory one emission holds at a time.
    objects_per_request: int = 200

    def validate(self) -> None:
        if self.collection_interval <= 0:
            raise ConfigError("collection_interval", "must be positive")
        if self.objects_per_request <= 0:
            raise ConfigError("objects_per_request", "must be positive")
        for key in ("resources",):
            for r in getattr(self, key):
                if r not in RESOURCES:
                    raise ConfigError(key, f"unknown resource {r!r}; supported: {', '.join(sorted(RESOURCES))}")
        for key in ("metric_labels_allowlist", "metric_annotations_allowlist"):
            for r in getattr(self, key):
                if r not in RESOURCES:
                    raise ConfigError(f"{key}.{r}", f"unknown resource; supported: {', '.join(sorted(RESOURCES))}")

    def selected_resources(self) -> list[str]:
        return list(self.resources) if self.resources else list(RESOURCES)
