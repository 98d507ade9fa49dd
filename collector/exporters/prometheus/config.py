"""prometheus exporter config, keys and defaults as otelcol-contrib's prometheusexporter."""
from __future__ import annotations

from dataclasses import dataclass, field

from collector.config import ConfigError, Duration
from collector.config.tls import TLSServerConfig
from collector.otlp.listen import split_endpoint

TRANSLATION_STRATEGIES = ("UnderscoreEscapingWithSuffixes", "UnderscoreEscapingWithoutSuffixes",
                          "NoUTF8EscapingWithSuffixes", "NoTranslation")


@dataclass
class ResourceToTelemetryConfig:
    # Copy every resource attribute onto every series as a label.
    enabled: bool = False


@dataclass
class Config:
    # host:port the /metrics endpoint listens on (required).
    endpoint: str = ""
    tls: TLSServerConfig | None = None
    # Prefix for every metric name.
    namespace: str = ""
    # Labels added to every series.
    const_labels: dict[str, str] = field(default_factory=dict)
    # Append each point's timestamp to its line.
    send_timestamps: bool = False
    # Series not updated for this long are no longer exposed.
    metric_expiration: Duration = Duration(300.0)
    resource_to_telemetry_conversion: ResourceToTelemetryConfig = field(default_factory=ResourceToTelemetryConfig)
    # OpenMetrics exposition when the scraper asks for it.
    enable_open_metrics: bool = False
    # Unit and _total suffixes (deprecated upstream in favour of translation_strategy).
    add_metric_suffixes: bool = True
    translation_strategy: str = ""

    def validate(self) -> None:
        if not self.endpoint:
            raise ConfigError("endpoint", "must be set (host:port)")
        try:
            split_endpoint(self.endpoint)
        except ValueError as e:
            raise ConfigError("endpoint", str(e)) from None
        if self.translation_strategy and self.translation_strategy not in TRANSLATION_STRATEGIES:
            raise ConfigError("translation_strategy", f"invalid translation_strategy: {self.translation_strategy}")
        if self.translation_strategy in ("NoUTF8EscapingWithSuffixes", "NoTranslation"):
            # They keep dots in names, which needs the UTF-8 (quoted) exposition we do not serve.
            raise ConfigError("translation_strategy", f"{self.translation_strategy} is not supported; "
                                                      "use UnderscoreEscapingWithSuffixes or UnderscoreEscapingWithoutSuffixes")
        if self.metric_expiration < 0:
            raise ConfigError("metric_expiration", "must not be negative")

    def adds_suffixes(self) -> bool:
        if self.translation_strategy:
            return self.translation_strategy.endswith("WithSuffixes")
        return self.add_metric_suffixes
