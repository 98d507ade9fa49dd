"""The `Instrumentation` resource (opentelemetry.io/v1alpha1), parsed from its JSON/YAML object.

Field names are the OpenTelemetry Operator's (apis/v1alpha1/instrumentation_types.go); defaults
are what its defaulting webhook fills in, because our CRD has no defaulting webhook of its own:
an Instrumentation written for the upstream operator behaves the same here.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "opentelemetry.io/v1alpha1"
KIND = "Instrumentation"
LANGUAGES = ("java", "nodejs", "python", "dotnet", "go")

# Images of the upstream auto-instrumentation releases; the operator takes them from flags,
# a resource may always name its own.
DEFAULT_IMAGES = {
    "java": "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-java:2.11.0",
    "nodejs": "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-nodejs:0.56.0",
    "python": "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-python:0.50b0",
    "dotnet": "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-dotnet:1.9.0",
    "go": "ghcr.io/open-telemetry/opentelemetry-go-instrumentation/autoinstrumentation-go:v0.19.0-alpha",
}
# The defaulting webhook's init-container resources per language (memory differs: the Node/.NET
# agents are larger to copy). Python and Go have 64Mi since operator v0.114 (#3479, "bump base
# memory requirements"), the versions our default images come from.
_DEFAULT_MEMORY = {"java": "64Mi", "nodejs": "128Mi", "python": "64Mi", "dotnet": "128Mi", "go": "64Mi"}

_SPEC_KEYS = {"exporter", "propagators", "sampler", "env", "resource", "defaults", *LANGUAGES,
              "apacheHttpd", "nginx"}
_LANGUAGE_KEYS = {"image", "env", "resources", "volumeLimitSize", "volumeClaimTemplate",
                  "extensions", "resourceRequirements"}
_PROPAGATORS = {"tracecontext", "baggage", "b3", "b3multi", "jaeger", "xray", "ottrace", "none"}
_SAMPLERS = {"always_on", "always_off", "traceidratio", "parentbased_always_on",
             "parentbased_always_off", "parentbased_traceidratio", "jaeger_remote",
             "parentbased_jaeger_remote", "xray"}


class InstrumentationError(ValueError):
    """An Instrumentation object that cannot be used; the message names the field."""


@dataclass
class LanguageSpec:
    image: str
    env: list[dict[str, Any]] = field(default_factory=list)
    resources: dict[str, Any] = field(default_factory=dict)
    volume_limit_size: str | None = None
    volume_claim_template: dict[str, Any] | None = None
    extensions: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Instrumentation:
    namespace: str
    name: str
    exporter_endpoint: str = ""
    exporter_tls: dict[str, str] | None = None
    propagators: list[str] = field(default_factory=list)
    sampler_type: str = ""
    sampler_argument: str = ""
    env: list[dict[str, Any]] = field(default_factory=list)
    resource_attributes: dict[str, str] = field(default_factory=dict)
    add_k8s_uid_attributes: bool = False
    use_labels_for_resource_attributes: bool = False
    languages: dict[str, LanguageSpec] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def _expect(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise InstrumentationError(f"{where}: expected {names}, got {type(value).__name__}")
    return value


def _env_list(raw: Any, where: str) -> list[dict[str, Any]]:
    entries = _expect(raw if raw is not None else [], list, where)
    out = []
    for i, entry in enumerate(entries):
        _expect(entry, dict, f"{where}[{i}]")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise InstrumentationError(f"{where}[{i}].name: a non-empty string is required")
        if "value" in entry and not isinstance(entry["value"], str):
            raise InstrumentationError(f"{where}[{i}].value: expected str")
        out.append(copy.deepcopy(entry))
    return out


def _language(lang: str, raw: Any) -> LanguageSpec:
    where = f"spec.{lang}"
    raw = _expect(raw if raw is not None else {}, dict, where)
    unknown = set(raw) - _LANGUAGE_KEYS
    if unknown:
        raise InstrumentationError(f"{where}.{sorted(unknown)[0]}: unknown field")
    resources = copy.deepcopy(_expect(raw.get("resources") or raw.get("resourceRequirements")
                                      or {}, dict, f"{where}.resources"))
    resources.setdefault("limits", {"cpu": "500m", "memory": _DEFAULT_MEMORY[lang]})
    resources.setdefault("requests", {"cpu": "50m", "memory": _DEFAULT_MEMORY[lang]})
    size = raw.get("volumeLimitSize")
    if size is not None:
        size = str(_expect(size, (str, int), f"{where}.volumeLimitSize"))
    claim = raw.get("volumeClaimTemplate")
    if claim is not None:
        _expect(claim, dict, f"{where}.volumeClaimTemplate")
        # The operator's validating webhook refuses both; silently picking one would hide a typo.
        if claim and size is not None:
            raise InstrumentationError(f"{where}.volumeClaimTemplate and {where}.volumeLimitSize "
                                       "cannot both be defined")
    extensions = _expect(raw.get("extensions") or [], list, f"{where}.extensions")
    for i, ext in enumerate(extensions):
        _expect(ext, dict, f"{where}.extensions[{i}]")
        if not isinstance(ext.get("image"), str) or not isinstance(ext.get("dir"), str):
            raise InstrumentationError(f"{where}.extensions[{i}]: image and dir are required")
    return LanguageSpec(
        image=_expect(raw.get("image") or DEFAULT_IMAGES[lang], str, f"{where}.image"),
        env=_env_list(raw.get("env"), f"{where}.env"),
        resources=resources,
        volume_limit_size=size,
        volume_claim_template=copy.deepcopy(claim),
        extensions=copy.deepcopy(extensions),
    )


def parse(obj: Any, default_namespace: str = "default") -> Instrumentation:
    """Build an Instrumentation from its Kubernetes object; raises InstrumentationError."""
    _expect(obj, dict, "object")
    if obj.get("kind", KIND) != KIND:
        raise InstrumentationError(f"kind: expected {KIND}, got {obj.get('kind')!r}")
    if obj.get("apiVersion", API_VERSION) != API_VERSION:
        raise InstrumentationError(f"apiVersion: expected {API_VERSION}, got {obj.get('apiVersion')!r}")
    meta = _expect(obj.get("metadata") or {}, dict, "metadata")
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise InstrumentationError("metadata.name: a non-empty string is required")
    namespace = meta.get("namespace") or default_namespace
    _expect(namespace, str, "metadata.namespace")
    spec = _expect(obj.get("spec") or {}, dict, "spec")
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise InstrumentationError(f"spec.{sorted(unknown)[0]}: unknown field")

    exporter = _expect(spec.get("exporter") or {}, dict, "spec.exporter")
    endpoint = _expect(exporter.get("endpoint") or "", str, "spec.exporter.endpoint")
    tls = exporter.get("tls")
    if tls is not None:
        _expect(tls, dict, "spec.exporter.tls")
        for k, v in tls.items():
            if k not in ("secretName", "configMapName", "ca_file", "cert_file", "key_file"):
                raise InstrumentationError(f"spec.exporter.tls.{k}: unknown field")
            _expect(v, str, f"spec.exporter.tls.{k}")

    propagators = _expect(spec.get("propagators") or [], list, "spec.propagators")
    for i, p in enumerate(propagators):
        if p not in _PROPAGATORS:
            raise InstrumentationError(f"spec.propagators[{i}]: unsupported propagator {p!r}")
    sampler = _expect(spec.get("sampler") or {}, dict, "spec.sampler")
    sampler_type = _expect(sampler.get("type") or "", str, "spec.sampler.type")
    if sampler_type and sampler_type not in _SAMPLERS:
        raise InstrumentationError(f"spec.sampler.type: unsupported sampler {sampler_type!r}")
    argument = sampler.get("argument") or ""
    if sampler_type.endswith("traceidratio") and argument:
        try:
            ratio = float(argument)
        except ValueError:
            ratio = -1.0
        if not 0.0 <= ratio <= 1.0:
            raise InstrumentationError(f"spec.sampler.argument: {argument!r} is not a ratio in [0, 1]")

    resource = _expect(spec.get("resource") or {}, dict, "spec.resource")
    attributes = _expect(resource.get("resourceAttributes") or {}, dict,
                         "spec.resource.resourceAttributes")
    defaults = _expect(spec.get("defaults") or {}, dict, "spec.defaults")

    return Instrumentation(
        namespace=namespace,
        name=name,
        exporter_endpoint=endpoint,
        exporter_tls=dict(tls) if tls else None,
        propagators=list(propagators),
        sampler_type=sampler_type,
        sampler_argument=str(argument),
        env=_env_list(spec.get("env"), "spec.env"),
        resource_attributes={str(k): str(v) for k, v in attributes.items()},
        add_k8s_uid_attributes=bool(resource.get("addK8sUIDAttributes", False)),
        use_labels_for_resource_attributes=bool(defaults.get("useLabelsForResourceAttributes", False)),
        languages={lang: _language(lang, spec.get(lang)) for lang in LANGUAGES},
    )
