"""The whole collector config: components by id, pipelines, service telemetry; validated at once."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..component import SIGNALS, ComponentID
from .decode import ConfigError, ConfigErrors, decode_dataclass, join
from .types import Expanded, plain

SECTIONS = {"receivers": "receiver", "processors": "processor", "exporters": "exporter",
            "extensions": "extension"}


@dataclass
class PipelineConfig:
    receivers: list[str] = field(default_factory=list)
    processors: list[str] = field(default_factory=list)
    exporters: list[str] = field(default_factory=list)


@dataclass
class PrometheusExporterConfig:
    """otelconf's prometheus pull exporter; the suffix and unit options default as there."""

    host: str = "localhost"
    port: int = 9464
    without_type_suffix: bool = False
    without_units: bool = False
    without_scope_info: bool = False   # we have no scope labels either way
    without_target_info: bool = False
    with_resource_constant_labels: dict[str, list[str]] = field(default_factory=dict)  # {included, excluded}
    # newer otelconf: replaces the two without_* options
    translation_strategy: Literal["", "UnderscoreEscapingWithSuffixes", "UnderscoreEscapingWithoutSuffixes",
                                  "NoUTF8EscapingWithSuffixes", "NoTranslation"] = ""

    def validate(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError("port", f"must be a TCP port (0-65535), got {self.port}")
        unknown = set(self.with_resource_constant_labels) - {"included", "excluded"}
        if unknown:
            raise ConfigError(f"with_resource_constant_labels.{sorted(unknown)[0]}", "unknown key (known keys: excluded, included)")

    def suffixes(self) -> tuple[bool, bool]:
        """(type suffix, units) as otelcol's exporter writes names."""
        if self.translation_strategy:
            with_suffixes = self.translation_strategy.endswith("WithSuffixes")
            return with_suffixes, with_suffixes
        return not self.without_type_suffix, not self.without_units


@dataclass
class PullExporterConfig:
    prometheus: PrometheusExporterConfig | None = None
    prometheus_development: PrometheusExporterConfig | None = field(default=None, metadata={"key": "prometheus/development"})


@dataclass
class PullReaderConfig:
    exporter: PullExporterConfig = field(default_factory=PullExporterConfig)
    producers: Any = None
    cardinality_limits: Any = None

    def validate(self) -> None:
        if self.exporter.prometheus is None and self.exporter.prometheus_development is None:
            raise ConfigError("exporter", "a pull reader needs exporter.prometheus (the only pull exporter)")


@dataclass
class MetricReaderConfig:
    pull: PullReaderConfig | None = None
    periodic: Any = None

    def validate(self) -> None:
        if self.periodic is not None:
            raise ConfigError("periodic", "periodic readers (pushing self-metrics, e.g. over OTLP) are not "
                                          "supported; use a pull reader with a prometheus exporter")
        if self.pull is None:
            raise ConfigError("", "a reader needs pull: {exporter: {prometheus: {host, port}}}")


@dataclass
class MetricsTelemetry:
    level: Literal["none", "basic", "normal", "detailed"] = "normal"
    address: str = ""   # deprecated in otelcol (v0.111) for readers; wins over readers when set
    readers: list[MetricReaderConfig] = field(default_factory=list)
    views: Any = None

    def validate(self) -> None:
        if self.address:
            host, sep, port = self.address.rpartition(":")
            if not sep or not port.isdigit() or int(port) > 65535:
                raise ConfigError("address", f"expected host:port (e.g. 127.0.0.1:8888), got {self.address!r}")

    def prometheus_endpoints(self) -> list[tuple[str, int, PrometheusExporterConfig]]:
        """Where to serve self-metrics: [(host, port, options)]; none at level none."""
        if self.level == "none":
            return []
        if self.address:
            host, _, port = self.address.rpartition(":")
            legacy = PrometheusExporterConfig(without_type_suffix=True, without_units=True)
            return [(host.strip("[]") or "0.0.0.0", int(port), legacy)]
        if not self.readers:
            # otelcol's default reader: localhost:8888, names without _total or units
            return [("127.0.0.1", 8888, PrometheusExporterConfig(without_type_suffix=True, without_units=True))]
        out = []
        for r in self.readers:
            if r.pull is not None:
                prom = r.pull.exporter.prometheus or r.pull.exporter.prometheus_development
                if prom is not None:
                    host = "127.0.0.1" if prom.host == "localhost" else prom.host
                    out.append((host.strip("[]") or "0.0.0.0", prom.port, prom))
        return out


# zap's level names; dpanic/panic/fatal log at error and above
LOG_LEVELS = ("debug", "info", "warn", "error", "dpanic", "panic", "fatal")


@dataclass
class LogsTelemetry:
    level: Literal[LOG_LEVELS + tuple(x.upper() for x in LOG_LEVELS)] = "info"
    encoding: Literal["console", "json"] = "console"
    development: bool = False
    disable_caller: bool = False
    disable_stacktrace: bool = False
    sampling: Any = None
    output_paths: list[str] = field(default_factory=lambda: ["stderr"])
    error_output_paths: list[str] = field(default_factory=lambda: ["stderr"])
    initial_fields: dict[str, Any] = field(default_factory=dict)
    processors: Any = None
    disable_zap_resource: bool = False  # we never add the resource to log lines


@dataclass
class TelemetryConfig:
    metrics: MetricsTelemetry = field(default_factory=MetricsTelemetry)
    logs: LogsTelemetry = field(default_factory=LogsTelemetry)
    resource: dict[str, Any] = field(default_factory=dict)
    traces: Any = None


@dataclass
class ServiceSection:
    extensions: list[str] = field(default_factory=list)
    pipelines: dict[str, PipelineConfig] = field(default_factory=dict)
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)


@dataclass
class ComponentConfig:
    id: ComponentID
    kind: str
    factory: Any
    config: Any


@dataclass
class Config:
    receivers: dict[ComponentID, ComponentConfig]
    processors: dict[ComponentID, ComponentConfig]
    exporters: dict[ComponentID, ComponentConfig]
    extensions: dict[ComponentID, ComponentConfig]
    service: ServiceSection
    raw: dict

    def pipelines(self) -> dict[ComponentID, PipelineConfig]:
        return {ComponentID.parse(k): v for k, v in self.service.pipelines.items()}


def build_config(raw: dict, registry) -> Config:
    errors: list[ConfigError] = []
    for key in raw:
        if key == "connectors":
            if raw[key]:  # an empty section (as charts render it) is harmless
                errors.append(ConfigError(key, "connectors are not supported by this collector (pipelines "
                                               "may share receivers and exporters instead)"))
        elif key not in SECTIONS and key != "service":
            errors.append(ConfigError(str(key), "unknown top-level key; expected receivers, processors, exporters, extensions, service"))

    sections: dict[str, dict[ComponentID, ComponentConfig]] = {}
    declared: dict[str, set] = {}  # ids present in the file, even when their config was bad
    for section, kind in SECTIONS.items():
        comps: dict[ComponentID, ComponentConfig] = {}
        body = raw.get(section) or {}
        if isinstance(body, Expanded):
            body = body.value or {}
        if not isinstance(body, dict):
            errors.append(ConfigError(section, "expected a mapping of component id to config"))
            body = {}
        for key, value in body.items():
            path = join(section, str(key))
            try:
                cid = ComponentID.parse(str(key))
            except ValueError as e:
                errors.append(ConfigError(path, str(e)))
                continue
            declared.setdefault(section, set()).add(cid)
            factory = registry.get(kind, cid.type)
            if factory is None:
                known = ", ".join(registry.types(kind)) or "none"
                errors.append(ConfigError(path, f"unknown {kind} type {cid.type!r} (known: {known})"))
                continue
            cfg = decode_dataclass(factory.config_class, value, path, errors)
            comps[cid] = ComponentConfig(cid, kind, factory, cfg)
        sections[section] = comps

    service = decode_dataclass(ServiceSection, raw.get("service"), "service", errors)
    if service is None:
        service = ServiceSection()
    if not service.pipelines and "service" not in [e.path.split(".")[0] for e in errors]:
        errors.append(ConfigError("service.pipelines", "at least one pipeline is required"))

    def resolve(section: str, ref: str, path: str) -> ComponentID | None:
        try:
            cid = ComponentID.parse(str(ref))
        except ValueError as e:
            errors.append(ConfigError(path, str(e)))
            return None
        if cid not in sections[section]:
            if cid in declared.get(section, ()):
                return None  # its own error is already reported
            errors.append(ConfigError(path, f"references {section[:-1]} {str(cid)!r}, which is not defined in {section}"))
            return None
        return cid

    for i, ref in enumerate(service.extensions):
        if ref in service.extensions[:i]:
            errors.append(ConfigError(f"service.extensions[{i}]", f"{ref!r} is listed twice"))
            continue
        resolve("extensions", ref, f"service.extensions[{i}]")

    for pid_text, pipe in service.pipelines.items():
        ppath = f"service.pipelines.{pid_text}"
        try:
            pid = ComponentID.parse(pid_text)
        except ValueError as e:
            errors.append(ConfigError(ppath, str(e)))
            continue
        if pid.type not in SIGNALS:
            errors.append(ConfigError(ppath, f"unknown signal {pid.type!r}; pipeline ids are logs, metrics or traces, optionally /name"))
            continue
        for role in ("receivers", "exporters"):
            if not getattr(pipe, role):
                errors.append(ConfigError(f"{ppath}.{role}", f"a pipeline needs at least one {role[:-1]}"))
        for role in ("receivers", "processors", "exporters"):
            seen = set()
            for i, ref in enumerate(getattr(pipe, role)):
                path = f"{ppath}.{role}[{i}]"
                if ref in seen:
                    errors.append(ConfigError(path, f"{ref!r} is listed twice"))
                    continue
                seen.add(ref)
                cid = resolve(role, ref, path)
                if cid is None or cid not in sections[role]:
                    continue
                factory = sections[role][cid].factory
                if pid.type not in factory.signals:
                    errors.append(ConfigError(path, f"{role[:-1]} {str(cid)!r} does not support {pid.type} (it supports {', '.join(sorted(factory.signals))})"))
    if errors:
        raise ConfigErrors(errors)
    return Config(sections["receivers"], sections["processors"], sections["exporters"],
                  sections["extensions"], service, plain(raw))
