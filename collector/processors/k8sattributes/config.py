"""`k8sattributes` configuration: the keys and defaults of otelcol-contrib's k8sattributesprocessor."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from ...config import ConfigError, Duration

# The metadata names otelcol-contrib accepts in extract.metadata.
SUPPORTED_METADATA = frozenset({
    "k8s.namespace.name", "k8s.pod.name", "k8s.pod.uid", "k8s.pod.hostname", "k8s.pod.start_time",
    "k8s.pod.ip", "k8s.deployment.name", "k8s.deployment.uid", "k8s.replicaset.name",
    "k8s.replicaset.uid", "k8s.daemonset.name", "k8s.daemonset.uid", "k8s.statefulset.name",
    "k8s.statefulset.uid", "k8s.job.name", "k8s.job.uid", "k8s.cronjob.name", "k8s.node.name",
    "k8s.node.uid", "k8s.container.name", "container.id", "container.image.name",
    "container.image.tag", "container.image.repo_digests", "k8s.cluster.uid",
})

# The resource attributes metadata.yaml enables by default (upstream's enabledAttributes()): used
# when extract.metadata is absent or an empty list.
DEFAULT_METADATA = ["container.image.name", "container.image.tag", "k8s.deployment.name",
                    "k8s.namespace.name", "k8s.node.name", "k8s.pod.name", "k8s.pod.start_time",
                    "k8s.pod.uid"]

AUTH_TYPES = ("none", "serviceAccount", "kubeConfig", "tls")


@dataclass
class FieldExtractConfig:
    tag_name: str = ""      # attribute name; default k8s.<from>.<labels|annotations>.<key>
    key: str = ""           # exact label/annotation key
    key_regex: str = ""     # or a regex on keys; tag_name may use $1 / ${name} back references
    from_: str = field(default="pod", metadata={"key": "from"})  # pod | namespace | node

    def validate(self) -> None:
        if self.key and self.key_regex:
            raise ValueError(f"Out of Key or KeyRegex only one option is expected to be configured at a "
                             f"time, currently Key:{self.key} and KeyRegex:{self.key_regex}")
        if not self.key and not self.key_regex:
            raise ValueError("one of key or key_regex is required")
        if self.from_ not in ("", "pod", "namespace", "node"):
            raise ConfigError("from", f"{self.from_} is not a valid choice for From. Must be one of: pod, namespace, node")
        if self.key_regex:
            try:
                re.compile(self.key_regex)
            except re.error as e:
                raise ConfigError("key_regex", f"invalid regex: {e}")


@dataclass
class ExtractConfig:
    metadata: list[str] = field(default_factory=lambda: list(DEFAULT_METADATA))
    annotations: list[FieldExtractConfig] = field(default_factory=list)
    labels: list[FieldExtractConfig] = field(default_factory=list)
    otel_annotations: bool = False  # pod annotations resource.opentelemetry.io/<x> become <x>

    def validate(self) -> None:
        for name in self.metadata:
            if name not in SUPPORTED_METADATA:
                raise ConfigError("metadata", f'"{name}" is not a supported metadata field')

    def metadata_fields(self) -> list[str]:
        # withExtractMetadata: no fields given (metadata: []) means the defaults, not nothing
        return list(self.metadata) or list(DEFAULT_METADATA)


@dataclass
class FieldFilterConfig:
    key: str = ""
    value: str = ""
    op: str = ""            # equals (default) | not-equals | exists | does-not-exist (labels only)


@dataclass
class FilterConfig:
    node: str = ""                  # only pods on this node
    node_from_env_var: str = ""     # ... or on the node named by this env var (downward API)
    namespace: str = ""             # only pods of this namespace
    fields: list[FieldFilterConfig] = field(default_factory=list)
    labels: list[FieldFilterConfig] = field(default_factory=list)

    def validate(self) -> None:
        if self.node_from_env_var and self.node_from_env_var not in os.environ:
            raise ConfigError("node_from_env_var", f"`node_from_env_var` is configured but envvar "
                                                   f"{self.node_from_env_var!r} is not set")
        for f in self.labels:
            if f.op not in ("", "equals", "not-equals", "exists", "does-not-exist"):
                raise ConfigError("labels", f"'{f.op}' is not a valid label filter operation for key={f.key}, value={f.value}")
        for f in self.fields:
            if f.op not in ("", "equals", "not-equals"):
                # (upstream's wording says "label" for fields too)
                raise ConfigError("fields", f"'{f.op}' is not a valid label filter operation for key={f.key}, value={f.value}")

    def node_name(self) -> str:
        if self.node:
            return self.node
        if self.node_from_env_var:
            return os.environ.get(self.node_from_env_var, "")
        return ""


@dataclass
class PodAssociationSourceConfig:
    from_: str = field(default="", metadata={"key": "from"})  # resource_attribute | connection
    name: str = ""          # the resource attribute (k8s.pod.ip, k8s.pod.uid, container.id, ...)

    def validate(self) -> None:
        if self.from_ not in ("resource_attribute", "connection"):
            raise ConfigError("from", f"{self.from_!r} is not a valid association source; "
                                      f"expected resource_attribute or connection")
        if self.from_ == "resource_attribute" and not self.name:
            raise ConfigError("name", "a resource_attribute source needs the attribute name")


# Upstream's kube.PodIdentifierMaxLength
MAX_ASSOCIATION_SOURCES = 4


@dataclass
class PodAssociationConfig:
    sources: list[PodAssociationSourceConfig] = field(default_factory=list)

    def validate(self) -> None:
        if len(self.sources) > MAX_ASSOCIATION_SOURCES:
            raise ConfigError("sources", f"too many association sources. limit is {MAX_ASSOCIATION_SOURCES}")
        if not self.sources:
            raise ConfigError("sources", "at least one source is required")


@dataclass
class ExcludePodConfig:
    name: str = ""          # a regular expression on the pod name

    def validate(self) -> None:
        try:
            re.compile(self.name)
        except re.error as e:
            raise ConfigError("name", f"invalid regex: {e}")


# Upstream's defaults, used as well when `exclude.pods` is given as an empty list.
DEFAULT_EXCLUDED_PODS = ("jaeger-agent", "jaeger-collector")


@dataclass
class ExcludeConfig:
    # Each name is a regular expression searched anywhere in the pod name (Go's MatchString).
    pods: list[ExcludePodConfig] = field(
        default_factory=lambda: [ExcludePodConfig(name) for name in DEFAULT_EXCLUDED_PODS])

    def patterns(self) -> list[re.Pattern]:
        return [re.compile(name) for name in ([p.name for p in self.pods] or DEFAULT_EXCLUDED_PODS)]


@dataclass
class Config:
    auth_type: str = "serviceAccount"
    context: str = ""               # kubeConfig context override
    passthrough: bool = False       # only set k8s.pod.ip from the connection; no API access
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    pod_association: list[PodAssociationConfig] = field(default_factory=list)
    exclude: ExcludeConfig = field(default_factory=ExcludeConfig)
    wait_for_metadata: bool = False
    wait_for_metadata_timeout: Duration = 10.0

    def validate(self) -> None:
        if self.auth_type not in AUTH_TYPES:
            raise ConfigError("auth_type", f"invalid authType for kubernetes: {self.auth_type}")
        if self.auth_type == "tls":
            # otelcol accepts the value but builds no API client from it either
            raise ConfigError("auth_type", "auth_type tls is not supported for the Kubernetes API; "
                                           "use serviceAccount or kubeConfig")
        if self.wait_for_metadata_timeout < 0:
            raise ConfigError("wait_for_metadata_timeout", "must not be negative")
