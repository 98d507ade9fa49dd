"""prometheus receiver config: otelcol-contrib's prometheusreceiver, whose `config` is a
Prometheus scrape configuration. We support static targets (the subset our cluster role needs);
any other Prometheus key is reported as unknown rather than silently ignored."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from collector.config import ConfigError, Duration


_SIZE = re.compile(r"^(\d+)([KMGTPE]i?B|B)?$")
_SIZE_POWERS = {"B": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}


def parse_prometheus_size(value) -> int:
    """Prometheus' data sizes (alecthomas/units Base2Bytes): a byte count, or "512KB", "10MB",
    "1GiB"... where KB and KiB are both 1024 bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    m = _SIZE.match(str(value).strip())
    if m is None:
        raise ValueError(f"invalid size {value!r}: use bytes or B, KB, MB, GB, TB, PB, EB")
    return int(m.group(1)) * 1024 ** _SIZE_POWERS[(m.group(2) or "B")[0]]


@dataclass
class GlobalConfig:
    scrape_interval: Duration = Duration(60.0)
    scrape_timeout: Duration = Duration(10.0)


@dataclass
class StaticConfig:
    targets: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class TLSConfig:
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    server_name: str = ""
    insecure_skip_verify: bool = False


@dataclass
class ScrapeConfig:
    job_name: str = ""
    scrape_interval: Duration | None = None   # None: global.scrape_interval
    scrape_timeout: Duration | None = None    # None: global.scrape_timeout
    metrics_path: str = "/metrics"
    scheme: Literal["http", "https"] = "http"
    params: dict[str, list[str]] = field(default_factory=dict)
    # On a clash between a scraped label and a target label: False keeps the target's and
    # renames the scraped one exported_<name>; True keeps the scraped one.
    honor_labels: bool = False
    honor_timestamps: bool = True
    bearer_token_file: str = ""
    tls_config: TLSConfig = field(default_factory=TLSConfig)
    static_configs: list[StaticConfig] = field(default_factory=list)
    # Largest accepted uncompressed scrape body; bigger answers fail the scrape. Bytes, or a
    # Prometheus size such as "10MB" (base 2, as Prometheus reads it). 0: our own bound.
    body_size_limit: Any = 0
    sample_limit: int = 0

    def body_size_bytes(self) -> int:
        return parse_prometheus_size(self.body_size_limit)

    def validate(self) -> None:
        if not self.job_name:
            raise ConfigError("job_name", "must be set")
        try:
            self.body_size_bytes()
        except ValueError as e:
            raise ConfigError("body_size_limit", str(e)) from None
        for sc in self.static_configs:
            for t in sc.targets:
                host, sep, port = t.rpartition(":")
                if not sep or not host or not port.isdigit():
                    raise ConfigError("static_configs", f"target {t!r} must be host:port")


@dataclass
class PrometheusConfig:
    global_: GlobalConfig = field(default_factory=GlobalConfig, metadata={"key": "global"})
    scrape_configs: list[ScrapeConfig] = field(default_factory=list)


@dataclass
class Config:
    config: PrometheusConfig = field(default_factory=PrometheusConfig)
    # Drop type and unit suffixes (_total, _seconds...) from metric names.
    trim_metric_suffixes: bool = False
    # Start cumulative series at the process start time the target exposes, rather than at
    # their first sighting.
    use_start_time_metric: bool = False
    # Which metric holds that start time; "" = process_start_time_seconds.
    start_time_metric_regex: str = ""

    def timing(self, s: ScrapeConfig) -> tuple[float, float]:
        """(interval, timeout) as Prometheus resolves them: an unset job timeout is the global
        one, capped at the job's interval."""
        g = self.config.global_
        interval = s.scrape_interval or g.scrape_interval
        timeout = s.scrape_timeout or min(g.scrape_timeout, interval)
        return interval, timeout

    def validate(self) -> None:
        if self.start_time_metric_regex:
            try:
                re.compile(self.start_time_metric_regex)
            except re.error as e:
                raise ConfigError("start_time_metric_regex", f"invalid regular expression: {e}") from e
        if not self.config.scrape_configs:
            raise ConfigError("config.scrape_configs", "at least one scrape config is required")
        names = [s.job_name for s in self.config.scrape_configs]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ConfigError("config.scrape_configs", f"duplicate job_name {sorted(dup)[0]!r}")
        for i, s in enumerate(self.config.scrape_configs):
            interval, timeout = self.timing(s)
            if timeout > interval:
                raise ConfigError(f"config.scrape_configs[{i}].scrape_timeout",
                                  "must not be greater than scrape_interval")
