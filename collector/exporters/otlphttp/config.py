"""`otlphttp` exporter config: otelcol's otlphttpexporter keys (confighttp client + exporterhelper)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from collector.config import ConfigError, Duration
from collector.config.tls import TLSClientConfig
from collector.exporters.exporterhelper.config import AuthConfig, BackOffConfig, QueueConfig, validate_timeout

SIGNAL_PATHS = {"traces": "v1/traces", "metrics": "v1/metrics", "logs": "v1/logs"}
# configcompression names: what this exporter can write, and what it cannot (no codec library).
COMPRESSIONS = ("gzip", "zlib", "deflate", "none", "")
_UNSUPPORTED_COMPRESSIONS = ("zstd", "snappy", "lz4", "x-snappy-framed")
# Go's compress/flate levels, as configcompression validates them for gzip, zlib and deflate.
_ZLIB_LEVELS = (-2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)


@dataclass
class CompressionParams:
    level: int = 0                       # 0 = the codec's default (gzip: 6)


@dataclass
class CookiesConfig:
    enabled: bool = False                # accepted; responses' cookies are not replayed


# confighttp.ClientConfig keys that tune Go's http.Transport (connection pool sizes, idle
# timeouts, HTTP/2 pings, buffer sizes). This exporter keeps one HTTP/1.1 keep-alive connection
# per consumer thread and host, so they are accepted for compatibility and have no effect.
_TRANSPORT_TUNING = ("read_buffer_size", "write_buffer_size", "max_idle_conns", "max_idle_conns_per_host",
                     "max_conns_per_host", "idle_conn_timeout", "http2_read_idle_timeout", "http2_ping_timeout")


@dataclass
class Config:
    endpoint: str = ""                   # base URL; /v1/traces, /v1/metrics, /v1/logs appended
    traces_endpoint: str = ""            # full URL for traces (overrides endpoint)
    metrics_endpoint: str = ""
    logs_endpoint: str = ""
    tls: TLSClientConfig = field(default_factory=TLSClientConfig)  # used for https:// URLs
    compression: str = "gzip"            # gzip | none | "" (none)
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # secrets: never printed
    timeout: Duration = 30.0             # per HTTP request (confighttp's default in otlphttp)
    encoding: Literal["proto", "json"] = "proto"
    compression_params: CompressionParams = field(default_factory=CompressionParams)
    proxy_url: str = ""                  # http://proxy:3128: plain requests by absolute URI, https by CONNECT
    disable_keep_alives: bool = False    # a new connection for every request
    auth: AuthConfig | None = None       # an authenticator extension, checked at start
    cookies: CookiesConfig | None = None
    read_buffer_size: int = 0            # see _TRANSPORT_TUNING: accepted, no effect
    write_buffer_size: int = 512 * 1024  # otlphttpexporter's default
    max_idle_conns: int | None = None
    max_idle_conns_per_host: int | None = None
    max_conns_per_host: int | None = None
    idle_conn_timeout: Duration | None = None
    http2_read_idle_timeout: Duration = 0.0
    http2_ping_timeout: Duration = 0.0
    retry_on_failure: BackOffConfig = field(default_factory=BackOffConfig)
    sending_queue: QueueConfig = field(default_factory=QueueConfig)

    def signal_url(self, signal: str) -> str:
        explicit = getattr(self, f"{signal}_endpoint")
        if explicit:
            return explicit
        return self.endpoint.rstrip("/") + "/" + SIGNAL_PATHS[signal]

    def validate(self) -> None:
        if not (self.endpoint or self.traces_endpoint or self.metrics_endpoint or self.logs_endpoint):
            raise ConfigError("endpoint", "at least one endpoint must be specified")
        for key in ("endpoint", "traces_endpoint", "metrics_endpoint", "logs_endpoint"):
            value = getattr(self, key)
            if not value:
                continue
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(key, f"invalid URL {value!r}: expected http://host:port or https://host:port")
            try:
                parts.port
            except ValueError:
                raise ConfigError(key, f"invalid port in {value!r}") from None
        if self.compression in _UNSUPPORTED_COMPRESSIONS:
            raise ConfigError("compression", f"unsupported compression {self.compression!r} in this collector: "
                                             "use gzip, zlib, deflate or none")
        if self.compression not in COMPRESSIONS:
            raise ConfigError("compression", f"unsupported compression {self.compression!r}: "
                                             "use gzip, zlib, deflate or none")
        if self.compression in ("gzip", "zlib", "deflate") and self.compression_params.level \
                and self.compression_params.level not in _ZLIB_LEVELS:
            raise ConfigError("compression_params.level", f"unsupported {self.compression} level "
                                                          f"{self.compression_params.level}: use -2 to 9")
        if self.proxy_url:
            proxy = urlsplit(self.proxy_url)
            if proxy.scheme != "http" or not proxy.hostname:
                raise ConfigError("proxy_url", f"invalid proxy URL {self.proxy_url!r}: expected http://host:port")
        for key in _TRANSPORT_TUNING:
            value = getattr(self, key)
            if value is not None and value < 0:
                raise ConfigError(key, "must not be negative")
        validate_timeout(self.timeout)
