"""hostmetrics receiver configuration: the keys and defaults of otelcol-contrib's.

```yaml
hostmetrics:
  collection_interval: 1m      # how often every scraper runs
  initial_delay: 1s            # wait before the first scrape
  timeout: 0s                  # 0: no per-scrape deadline beyond collection_interval
  root_path: /hostfs           # the host's / mounted in the container; "" reads this machine
  metadata_collection_interval: 5m   # accepted as upstream's; metadata is read every scrape
  scrapers:
    cpu: {metrics: {system.cpu.utilization: {enabled: true}}}
    filesystem: {exclude_mount_points: {mount_points: ["/dev/*"], match_type: regexp}}
    process: {include: {names: [sshd], match_type: strict}, mute_process_name_error: true}
```

`scrapers` is decoded per key (as the collector does, with the scraper's own config type), so
`cpu:` with no value enables the cpu scraper with its defaults, and an unknown scraper or key
is an error naming its full path.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

from collector.config import ConfigError, ConfigErrors, Duration, decode

from . import filterset
from .metadata import METRICS, PROCESS_RESOURCE_ATTRIBUTES

MatchType = Literal["", "strict", "regexp"]


@dataclass
class MetricSetting:
    enabled: bool | None = None  # None keeps the metric's default


def _check_switches(switches: dict[str, MetricSetting], known, key: str) -> None:
    for name in switches:
        if name not in known:
            raise ConfigError(f"{key}.{name}", f"unknown name (known: {', '.join(sorted(known))})")


def _check_filter(items: list[str], match_type: str, key: str) -> None:
    if not items:
        return
    try:
        filterset.FilterSet(items, match_type)
    except ValueError as e:
        raise ConfigError(key, str(e)) from None
    except Exception as e:  # re.error: a bad pattern
        raise ConfigError(key, f"invalid regexp: {e}") from None


class _MatchConfig:
    """An include/exclude block: a list under `items_key` and its match_type (strict, regexp)."""

    items_key = ""

    def validate(self):
        _check_filter(getattr(self, self.items_key), self.match_type, "match_type")


@dataclass
class DeviceMatchConfig(_MatchConfig):
    devices: list[str] = field(default_factory=list)
    match_type: MatchType = ""
    items_key = "devices"


@dataclass
class FSTypeMatchConfig(_MatchConfig):
    fs_types: list[str] = field(default_factory=list)
    match_type: MatchType = ""
    items_key = "fs_types"


@dataclass
class MountPointMatchConfig(_MatchConfig):
    mount_points: list[str] = field(default_factory=list)
    match_type: MatchType = ""
    items_key = "mount_points"


@dataclass
class InterfaceMatchConfig(_MatchConfig):
    interfaces: list[str] = field(default_factory=list)
    match_type: MatchType = ""
    items_key = "interfaces"


@dataclass
class NameMatchConfig(_MatchConfig):
    names: list[str] = field(default_factory=list)
    match_type: MatchType = ""
    items_key = "names"


@dataclass
class ScraperConfig:
    """`metrics: {name: {enabled: bool}}`, common to every scraper."""
    metrics: dict[str, MetricSetting] = field(default_factory=dict)

    scraper = ""

    def validate(self):
        _check_switches(self.metrics, METRICS[self.scraper], "metrics")

    def metric_overrides(self) -> dict[str, bool]:
        return {n: s.enabled for n, s in self.metrics.items() if s.enabled is not None}


@dataclass
class CPUConfig(ScraperConfig):
    scraper = "cpu"


@dataclass
class MemoryConfig(ScraperConfig):
    scraper = "memory"


@dataclass
class LoadConfig(ScraperConfig):
    cpu_average: bool = False  # divide the load averages by the number of logical CPUs
    scraper = "load"


@dataclass
class FilesystemConfig(ScraperConfig):
    include_virtual_filesystems: bool = False  # tmpfs, proc, ... (types marked nodev)
    include_devices: DeviceMatchConfig = field(default_factory=DeviceMatchConfig)
    exclude_devices: DeviceMatchConfig = field(default_factory=DeviceMatchConfig)
    include_fs_types: FSTypeMatchConfig = field(default_factory=FSTypeMatchConfig)
    exclude_fs_types: FSTypeMatchConfig = field(default_factory=FSTypeMatchConfig)
    include_mount_points: MountPointMatchConfig = field(default_factory=MountPointMatchConfig)
    exclude_mount_points: MountPointMatchConfig = field(default_factory=MountPointMatchConfig)
    scraper = "filesystem"


@dataclass
class DiskConfig(ScraperConfig):
    include: DeviceMatchConfig = field(default_factory=DeviceMatchConfig)
    exclude: DeviceMatchConfig = field(default_factory=DeviceMatchConfig)
    scraper = "disk"


@dataclass
class NetworkConfig(ScraperConfig):
    include: InterfaceMatchConfig = field(default_factory=InterfaceMatchConfig)
    exclude: InterfaceMatchConfig = field(default_factory=InterfaceMatchConfig)
    scraper = "network"


@dataclass
class PagingConfig(ScraperConfig):
    scraper = "paging"


@dataclass
class ProcessesConfig(ScraperConfig):
    scraper = "processes"


@dataclass
class SystemConfig(ScraperConfig):
    scraper = "system"


@dataclass
class ProcessConfig(ScraperConfig):
    include: NameMatchConfig = field(default_factory=NameMatchConfig)
    exclude: NameMatchConfig = field(default_factory=NameMatchConfig)
    resource_attributes: dict[str, MetricSetting] = field(default_factory=dict)
    # Each mutes one kind of per-process read error (permissions, kernel threads, users that
    # only exist inside a container); mute_process_all_errors mutes every one of them.
    mute_process_all_errors: bool = False
    mute_process_name_error: bool = False
    mute_process_exe_error: bool = False
    mute_process_io_error: bool = False
    mute_process_user_error: bool = False
    mute_process_cgroup_error: bool = False
    scrape_process_delay: Duration = 0.0  # skip processes younger than this
    scraper = "process"

    def validate(self):
        super().validate()
        _check_switches(self.resource_attributes, PROCESS_RESOURCE_ATTRIBUTES, "resource_attributes")
        if self.scrape_process_delay < 0:
            raise ConfigError("scrape_process_delay", "must not be negative")

    def resource_attribute_enabled(self) -> dict[str, bool]:
        out = dict(PROCESS_RESOURCE_ATTRIBUTES)
        out.update({n: s.enabled for n, s in self.resource_attributes.items() if s.enabled is not None})
        return out

    def muted(self, kind: str) -> bool:
        return self.mute_process_all_errors or getattr(self, f"mute_process_{kind}_error")


SCRAPER_CONFIGS: dict[str, type] = {
    "cpu": CPUConfig, "memory": MemoryConfig, "load": LoadConfig, "filesystem": FilesystemConfig,
    "disk": DiskConfig, "network": NetworkConfig, "paging": PagingConfig,
    "processes": ProcessesConfig, "process": ProcessConfig, "system": SystemConfig,
}


@dataclass
class Config:
    collection_interval: Duration = 60.0
    initial_delay: Duration = 1.0
    timeout: Duration = 0.0
    root_path: str = ""
    # Upstream's process-metadata refresh period (default 5m). Accepted and validated as the
    # collector does; our process scraper re-reads each process's metadata every scrape.
    metadata_collection_interval: Duration = 300.0
    scrapers: dict[str, Any] = field(default_factory=dict)

    def validate(self):
        if self.collection_interval <= 0:
            raise ConfigError("collection_interval", "must be greater than 0")
        if self.metadata_collection_interval < 0:
            raise ConfigError("metadata_collection_interval", "metadata_collection_interval "
                                                              "must not be negative")
        if self.initial_delay < 0:
            raise ConfigError("initial_delay", "must not be negative")
        if self.timeout < 0:
            raise ConfigError("timeout", "must not be negative")
        if not self.scrapers:
            raise ConfigError("scrapers", "must specify at least one scraper when using "
                                          "hostmetrics receiver")
        if self.root_path and not os.path.isdir(self.root_path):
            raise ConfigError("root_path", f"invalid root_path: {self.root_path!r} is not a directory")
        self.scraper_configs()

    def scraper_configs(self) -> dict[str, ScraperConfig]:
        """Each scraper's typed config; ConfigErrors name `scrapers.<key>...` paths."""
        out, errors = {}, []
        for key, raw in self.scrapers.items():
            cls = SCRAPER_CONFIGS.get(key)
            if cls is None:
                errors.append(ConfigError(f"scrapers.{key}", "invalid scraper key (known: "
                                          + ", ".join(SCRAPER_CONFIGS) + ")"))
                continue
            if isinstance(raw, cls):  # built in code (tests, defaults)
                out[key] = raw
                continue
            try:
                out[key] = decode(cls, raw, f"scrapers.{key}")
            except ConfigErrors as e:
                errors.extend(e.errors)
        if errors:
            raise ConfigErrors(errors)
        return out
