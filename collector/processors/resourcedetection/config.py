"""resourcedetection processor configuration: otelcol-contrib's keys and defaults.

```yaml
resourcedetection:
  detectors: [env, system, k8snode]   # in priority order: the first to set a key wins
  timeout: 5s                         # detection deadline at start-up
  override: true                      # replace attributes the data already has
  refresh_interval: 0s                # >0: detect again periodically
  system:
    hostname_sources: [dns, os]
    resource_attributes: {host.id: {enabled: true}}
  k8snode:
    node_from_env_var: K8S_NODE_NAME  # set by the downward API (spec.nodeName)
```
"""
from __future__ import annotations

from dataclasses import dataclass, field

from collector.config import ConfigError, Duration

SYSTEM_ATTRIBUTES = {  # name -> enabled by default (internal/system/metadata.yaml)
    "host.name": True, "host.id": False, "os.description": False, "os.type": True,
    "os.version": False,
    "host.arch": False, "host.ip": False, "host.mac": False, "host.cpu.vendor.id": False,
    "host.cpu.family": False, "host.cpu.model.id": False, "host.cpu.model.name": False,
    "host.cpu.stepping": False, "host.cpu.cache.l2.size": False,
}
K8SNODE_ATTRIBUTES = {"k8s.node.name": True, "k8s.node.uid": True}
HOSTNAME_SOURCES = ("dns", "os", "cname", "lookup")
DETECTORS = ("env", "system", "k8snode")


@dataclass
class AttributeSetting:
    enabled: bool | None = None  # None keeps the default


def _check_attrs(settings: dict[str, AttributeSetting], known: dict[str, bool]) -> None:
    for name in settings:
        if name not in known:
            raise ConfigError(f"resource_attributes.{name}",
                              f"unknown attribute (known: {', '.join(known)})")


def enabled_attrs(settings: dict[str, AttributeSetting], known: dict[str, bool]) -> set[str]:
    on = {k for k, v in known.items() if v}
    for k, s in settings.items():
        if s.enabled is True:
            on.add(k)
        elif s.enabled is False:
            on.discard(k)
    return on


@dataclass
class SystemConfig:
    hostname_sources: list[str] = field(default_factory=lambda: ["dns", "os"])
    resource_attributes: dict[str, AttributeSetting] = field(default_factory=dict)

    def validate(self):
        for s in self.hostname_sources:
            if s not in HOSTNAME_SOURCES:
                raise ConfigError("hostname_sources", f"hostname_sources contains invalid value: {s!r}")
        _check_attrs(self.resource_attributes, SYSTEM_ATTRIBUTES)


@dataclass
class EnvConfig:
    """The env detector has no settings: it reads OTEL_RESOURCE_ATTRIBUTES."""


@dataclass
class K8sNodeConfig:
    node_from_env_var: str = "K8S_NODE_NAME"
    resource_attributes: dict[str, AttributeSetting] = field(default_factory=dict)

    def validate(self):
        if not self.node_from_env_var:
            raise ConfigError("node_from_env_var", "must name the environment variable that holds "
                                                   "the node name")
        _check_attrs(self.resource_attributes, K8SNODE_ATTRIBUTES)


@dataclass
class Config:
    detectors: list[str] = field(default_factory=lambda: ["env"])
    override: bool = True
    timeout: Duration = 5.0
    refresh_interval: Duration = 0.0
    attributes: list[str] | None = None  # deprecated upstream: keep only these keys
    system: SystemConfig = field(default_factory=SystemConfig)
    env: EnvConfig = field(default_factory=EnvConfig)
    k8snode: K8sNodeConfig = field(default_factory=K8sNodeConfig)

    def validate(self):
        for i, d in enumerate(self.detectors):
            if d not in DETECTORS:
                raise ConfigError(f"detectors[{i}]", f"invalid detector key: {d!r} (supported: "
                                  f"{', '.join(DETECTORS)})")
        if self.timeout <= 0:
            raise ConfigError("timeout", "must be greater than 0")
        if self.refresh_interval < 0:
            raise ConfigError("refresh_interval", "must not be negative")
