"""Config of the `otlp` receiver: the keys and defaults of otelcol's otlpreceiver.

    receivers:
      otlp:
        protocols:
          grpc:                          # listed (even empty) = served
            endpoint: localhost:4317
            max_recv_msg_size_mib: 4
            max_concurrent_streams: 0    # 0: grpc's default
            tls: {cert_file: ..., key_file: ..., client_ca_file: ...}
            keepalive:                   # configgrpc's keys, mapped to grpc core channel args
              server_parameters: {max_connection_idle, max_connection_age, max_connection_age_grace, time, timeout}
              enforcement_policy: {min_time, permit_without_stream}
          http:
            endpoint: localhost:4318
            traces_url_path: /v1/traces
            metrics_url_path: /v1/metrics
            logs_url_path: /v1/logs
            max_request_body_size: 20MiB
            tls: {...}
            cors: {allowed_origins: [], allowed_headers: [], max_age: 0}

Only the protocols listed are served, and at least one must be (as otelcol requires).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from collector.config import ConfigError
from collector.config.tls import TLSServerConfig
from collector.config.types import ByteSize, Duration


class _Absent:
    """Default of a protocol key that is not in the YAML. A key given as null (`grpc:`) decodes
    to None, which otelcol reads as "serve with the defaults": the two must stay apart."""

    def __repr__(self) -> str:
        return "<not configured>"


ABSENT: Any = _Absent()


def _check_endpoint(key: str, endpoint: str) -> None:
    from collector.otlp.listen import split_endpoint

    try:
        split_endpoint(endpoint)
    except ValueError as e:
        raise ConfigError(key, str(e)) from None


@dataclass
class KeepaliveServerParameters:
    """configgrpc's keepalive.server_parameters; zero leaves grpc's default."""

    max_connection_idle: Duration = 0.0
    max_connection_age: Duration = 0.0
    max_connection_age_grace: Duration = 0.0
    time: Duration = 0.0       # ping an idle client after this long
    timeout: Duration = 0.0    # close if the ping is not answered within this


@dataclass
class KeepaliveEnforcementPolicy:
    min_time: Duration = 0.0   # clients pinging more often than this are disconnected
    permit_without_stream: bool = False


@dataclass
class KeepaliveConfig:
    server_parameters: KeepaliveServerParameters | None = None
    enforcement_policy: KeepaliveEnforcementPolicy | None = None

    def grpc_options(self) -> list[tuple[str, int]]:
        """The grpc core channel arguments these keys correspond to."""
        ms = lambda seconds: int(seconds * 1000)  # noqa: E731
        out = []
        sp = self.server_parameters
        if sp is not None:
            for value, arg in ((sp.max_connection_idle, "grpc.max_connection_idle_ms"),
                               (sp.max_connection_age, "grpc.max_connection_age_ms"),
                               (sp.max_connection_age_grace, "grpc.max_connection_age_grace_ms"),
                               (sp.time, "grpc.keepalive_time_ms"),
                               (sp.timeout, "grpc.keepalive_timeout_ms")):
                if value > 0:
                    out.append((arg, ms(value)))
        ep = self.enforcement_policy
        if ep is not None:
            if ep.min_time > 0:
                out.append(("grpc.http2.min_ping_interval_without_data_ms", ms(ep.min_time)))
            out.append(("grpc.keepalive_permit_without_calls", int(ep.permit_without_stream)))
        return out


@dataclass
class GRPCConfig:
    endpoint: str = "localhost:4317"
    max_recv_msg_size_mib: int = 4        # largest request accepted, after decompression
    max_concurrent_streams: int = 0       # per connection; 0 leaves grpc's default
    tls: TLSServerConfig | None = None
    keepalive: KeepaliveConfig | None = None

    def validate(self) -> None:
        _check_endpoint("endpoint", self.endpoint)
        if self.max_recv_msg_size_mib < 0:
            raise ConfigError("max_recv_msg_size_mib", "must not be negative")
        if self.max_concurrent_streams < 0:
            raise ConfigError("max_concurrent_streams", "must not be negative")


@dataclass
class CORSConfig:
    allowed_origins: list[str] = field(default_factory=list)  # "*", exact, or "https://*.example.com"
    allowed_headers: list[str] = field(default_factory=list)  # besides Accept, Content-Type, X-Requested-With
    max_age: int = 0                                          # seconds; 0 = no Access-Control-Max-Age

    def validate(self) -> None:
        for i, origin in enumerate(self.allowed_origins):
            if origin.count("*") > 1:
                raise ConfigError(f"allowed_origins[{i}]", "at most one '*' wildcard per origin")


def _url_path(path: str) -> str:
    # otelcol's sanitizeURLPath: a path without a leading slash gets one.
    return path if path.startswith("/") else "/" + path


@dataclass
class HTTPConfig:
    endpoint: str = "localhost:4318"
    traces_url_path: str = "/v1/traces"
    metrics_url_path: str = "/v1/metrics"
    logs_url_path: str = "/v1/logs"
    max_request_body_size: ByteSize = ByteSize(20 * 1024 * 1024)  # 0 = the 20MiB default
    tls: TLSServerConfig | None = None
    cors: CORSConfig | None = None

    def validate(self) -> None:
        _check_endpoint("endpoint", self.endpoint)
        self.traces_url_path = _url_path(self.traces_url_path)
        self.metrics_url_path = _url_path(self.metrics_url_path)
        self.logs_url_path = _url_path(self.logs_url_path)
        paths = [self.traces_url_path, self.metrics_url_path, self.logs_url_path]
        if len(set(paths)) != len(paths):
            raise ConfigError("traces_url_path", "traces_url_path, metrics_url_path and logs_url_path must differ")

    def body_limit(self) -> int:
        return int(self.max_request_body_size) or 20 * 1024 * 1024

    def paths(self) -> dict[str, str]:
        return {"traces": self.traces_url_path, "metrics": self.metrics_url_path, "logs": self.logs_url_path}


@dataclass
class Protocols:
    grpc: GRPCConfig | None = ABSENT
    http: HTTPConfig | None = ABSENT

    def validate(self) -> None:
        # Listed with no value (null) means "serve with the defaults"; not listed means off.
        self.grpc = None if self.grpc is ABSENT else (self.grpc or GRPCConfig())
        self.http = None if self.http is ABSENT else (self.http or HTTPConfig())


@dataclass
class Config:
    protocols: Protocols = field(default_factory=Protocols)

    def validate(self) -> None:
        if self.protocols.grpc is ABSENT or self.protocols.http is ABSENT:
            self.protocols.validate()  # a Config built in code rather than decoded
        if self.protocols.grpc is None and self.protocols.http is None:
            raise ConfigError("protocols", "must specify at least one protocol when using the OTLP receiver")
