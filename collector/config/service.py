"""The whole collector config: components by id, pipelines, service telemetry; validated at once."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..component import SIGNALS, ComponentID
from .decode import ConfigError, ConfigErrors, decode_dataclass, join

SECTIONS = {"receivers": "receiver", "processors": "processor", "exporters": "exporter",
            "extensions": "extension"}


@dataclass
class PipelineConfig:
    receivers: list[str] = field(default_factory=list)
    processors: list[str] = field(default_factory=list)
    exporters: list[str] = field(default_factory=list)


@dataclass
class MetricsTelemetry:
    level: Literal["none", "basic", "normal", "detailed"] = "normal"
    address: str = "127.0.0.1:8888"
    readers: Any = None


@dataclass
class LogsTelemetry:
    level: Literal["debug", "info", "warn", "error", "DEBUG", "INFO", "WARN", "ERROR"] = "info"
    encoding: Literal["console", "json"] = "console"
    development: bool = False
    disable_caller: bool = False
    disable_stacktrace: bool = False
    sampling: Any = None
    output_paths: list[str] = field(default_factory=lambda: ["stderr"])
    error_output_paths: list[str] = field(default_factory=lambda: ["stderr"])
    initial_fields: dict[str, Any] = field(default_factory=dict)
    processors: Any = None


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
        if key not in SECTIONS and key != "service":
            hint = " (connectors are not supported)" if key == "connectors" else ""
            errors.append(ConfigError(str(key), f"unknown top-level key{hint}; expected receivers, processors, exporters, extensions, service"))

    sections: dict[str, dict[ComponentID, ComponentConfig]] = {}
    declared: dict[str, set] = {}  # ids present in the file, even when their config was bad
    for section, kind in SECTIONS.items():
        comps: dict[ComponentID, ComponentConfig] = {}
        body = raw.get(section) or {}
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
                  sections["extensions"], service, raw)
