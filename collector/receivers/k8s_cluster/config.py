"""k8s_cluster receiver config: the keys of otelcol-contrib's k8sclusterreceiver that we honour."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from collector.config import ConfigError, Duration

from .metadata import METRICS, RESOURCE_ATTRIBUTES

AuthType = Literal["none", "serviceAccount", "kubeConfig"]


@dataclass
class EnabledSetting:
    """`metrics.<name>.enabled` / `resource_attributes.<name>.enabled`."""
    enabled: bool = True


@dataclass
class Config:
    # How to reach the API server: in-cluster service account, $KUBECONFIG, or none (tests).
    auth_type: AuthType = "serviceAccount"
    # kubeconfig context to use with auth_type kubeConfig; "" = current context.
    context: str = ""
    # How often metrics are emitted from the informer caches.
    collection_interval: Duration = Duration(10.0)
    # Node condition types reported as k8s.node.condition_<type>.
    node_conditions_to_report: list[str] = field(default_factory=lambda: ["Ready"])
    # Node allocatable resource types reported as k8s.node.allocatable_<type>.
    allocatable_types_to_report: list[str] = field(default_factory=list)
    # Only "kubernetes": OpenShift cluster quotas are not implemented.
    distribution: str = "kubernetes"
    # otelcol-contrib keys accepted so its configs load: syncing metadata to exporters (and its
    # periodic resync interval, default 5m) is not implemented, so both only validate.
    metadata_exporters: list[str] = field(default_factory=list)
    metadata_collection_interval: Duration = Duration(300.0)
    # Watch only these namespaces (then nodes and namespaces are not observed); [] = all.
    namespaces: list[str] = field(default_factory=list)
    # Deprecated single-namespace form of `namespaces`.
    namespace: str = ""
    # Id of a k8s_leader_elector extension: collect only while this replica leads.
    k8s_leader_elector: str | None = None
    metrics: dict[str, EnabledSetting] = field(default_factory=dict)
    resource_attributes: dict[str, EnabledSetting] = field(default_factory=dict)

    def validate(self) -> None:
        if self.collection_interval <= 0:
            raise ConfigError("collection_interval", "must be positive")
        if self.metadata_collection_interval < 0:
            raise ConfigError("metadata_collection_interval", "must not be negative")
        if self.distribution != "kubernetes":
            raise ConfigError("distribution", f'"{self.distribution}" is not a supported distribution. '
                                              'Must be "kubernetes" (openshift is not implemented)')
        for name in self.metrics:
            if name not in METRICS:
                raise ConfigError(f"metrics.{name}", "unknown metric")
        for name in self.resource_attributes:
            if name not in RESOURCE_ATTRIBUTES:
                raise ConfigError(f"resource_attributes.{name}", "unknown resource attribute")

    def watched_namespaces(self) -> list[str]:
        if self.namespaces:
            return list(self.namespaces)
        return [self.namespace] if self.namespace else []

    def enabled_metrics(self) -> set[str]:
        return {n for n, (_, _, _, on) in METRICS.items()
                if (self.metrics[n].enabled if n in self.metrics else on)}

    def enabled_resource_attributes(self) -> set[str]:
        return {n for n, on in RESOURCE_ATTRIBUTES.items()
                if (self.resource_attributes[n].enabled if n in self.resource_attributes else on)}
