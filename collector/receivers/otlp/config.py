"""Config of the `otlp` receiver: the keys and defaults of otelcol's otlpreceiver.

    receivers:
      otlp:
        protocols:
          grpc:                          # listed (even empty) = served
            endpoint: localhost:4317
            transport: tcp               # tcp | tcp4 | tcp6 | unix (endpoint = socket path)
            max_recv_msg_size_mib: 4
            max_concurrent_streams: 0    # 0: grpc's default
            read_buffer_size: 524288     # accepted, no effect (grpcio sizes its buffers)
            write_buffer_size: 0
            tls: {cert_file: ..., key_file: ..., client_ca_file: ...}
            keepalive:                   # configgrpc's keys, mapped to grpc core channel args
              server_parameters: {max_connection_idle, max_connection_age, max_connection_age_grace, time, timeout}
              enforcement_policy: {min_time, permit_without_stream}
            include_metadata: false      # accepted; metadata is not passed down (warned at start)
            auth: {authenticator: id}    # start fails: no authenticator extensions here
          http:
            endpoint: localhost:4318
            transport: tcp
            traces_url_path: /v1/traces
            metrics_url_path: /v1/metrics
            logs_url_path: /v1/logs
            max_request_body_size: 20MiB
            tls: {...}
            cors: {allowed_origins: [], allowed_headers: [], exposed_headers: [], max_age: 0}
            response_headers: {}
            compression_algorithms: ["", gzip, zstd, zlib, snappy, deflate, lz4]  # decoded: "", gzip, zlib, deflate
            read_timeout: 0s, read_header_timeout: 1m, write_timeout: 30s, idle_timeout: 1m
            keep_alives_enabled: true    # or keepalive: {enabled, idle_timeout}
            include_metadata: false
            auth: {authenticator: id}

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


# confignet transports a server can listen on; tcp4/tcp6 are served as tcp (the endpoint's
# host decides the address family), unix is a socket file named by the endpoint.
TRANSPORTS = ("tcp", "tcp4", "tcp6", "unix")


def _check_endpoint(key: str, endpoint: str, transport: str = "tcp") -> None:
    from collector.otlp.listen import split_endpoint

    if transport not in TRANSPORTS:
        raise ConfigError("transport", f"unsupported transport {transport!r}: use tcp, tcp4, tcp6 or unix")
    if transport == "unix":
        if not str(endpoint).strip():
            raise ConfigError(key, "a unix socket path is required")
        return
    try:
        split_endpoint(endpoint)
    except ValueError as e:
        raise ConfigError(key, str(e)) from None


@dataclass
class AuthConfig:
    """`auth` (configauth): the id of an authenticator extension, resolved when the receiver
    starts. This collector has no authenticator extensions, so the start fails rather than
    serving without the authentication the config asks for."""

    authenticator: str = ""
    request_params: list[str] = field(default_factory=list)  # http only

    def validate(self) -> None:
        if not str(self.authenticator).strip():
            raise ConfigError("authenticator", "must name an authenticator extension")


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
    transport: str = "tcp"
    max_recv_msg_size_mib: int = 4        # largest request accepted, after decompression
    max_concurrent_streams: int = 0       # per connection; 0 leaves grpc's default
    # Buffer sizes (otlpreceiver's defaults): accepted for compatibility; grpcio sizes its own.
    read_buffer_size: int = 512 * 1024
    write_buffer_size: int = 0
    tls: TLSServerConfig | None = None
    keepalive: KeepaliveConfig | None = None
    # Client metadata (request headers) is not carried with the data in this collector: nothing
    # downstream could use it (no headers_setter). Accepted; the receiver warns at start.
    include_metadata: bool = False
    auth: AuthConfig | None = None

    def validate(self) -> None:
        _check_endpoint("endpoint", self.endpoint, self.transport)
        if self.max_recv_msg_size_mib < 0:
            raise ConfigError("max_recv_msg_size_mib", "must not be negative")
        if self.max_concurrent_streams < 0:
            raise ConfigError("max_concurrent_streams", "must not be negative")
        if self.read_buffer_size < 0:
            raise ConfigError("read_buffer_size", "must not be negative")
        if self.write_buffer_size < 0:
            raise ConfigError("write_buffer_size", "must not be negative")


@dataclass
class CORSConfig:
    allowed_origins: list[str] = field(default_factory=list)  # "*", exact, or "https://*.example.com"
    allowed_headers: list[str] = field(default_factory=list)  # besides Accept, Content-Type, X-Requested-With
    exposed_headers: list[str] = field(default_factory=list)  # Access-Control-Expose-Headers
    max_age: int = 0                                          # seconds; 0 = no Access-Control-Max-Age

    def validate(self) -> None:
        for i, origin in enumerate(self.allowed_origins):
            if origin.count("*") > 1:
                raise ConfigError(f"allowed_origins[{i}]", "at most one '*' wildcard per origin")


def _url_path(path: str) -> str:
    # otelcol's sanitizeURLPath: a path without a leading slash gets one.
    return path if path.startswith("/") else "/" + path


# Content-Encodings confighttp accepts by default, and those this server can decode.
COMPRESSION_ALGORITHMS = ("", "gzip", "zstd", "zlib", "snappy", "deflate", "lz4")
DECODABLE = ("", "gzip", "zlib", "deflate")


@dataclass
class HTTPKeepalive:
    """confighttp's newer `keepalive` section (replacing idle_timeout / keep_alives_enabled)."""
    enabled: bool = True
    idle_timeout: Duration = 60.0


@dataclass
class HTTPConfig:
    endpoint: str = "localhost:4318"
    transport: str = "tcp"
    traces_url_path: str = "/v1/traces"
    metrics_url_path: str = "/v1/metrics"
    logs_url_path: str = "/v1/logs"
    max_request_body_size: ByteSize = ByteSize(20 * 1024 * 1024)  # 0 = the 20MiB default
    tls: TLSServerConfig | None = None
    cors: CORSConfig | None = None
    include_metadata: bool = False        # see GRPCConfig.include_metadata
    auth: AuthConfig | None = None
    # Headers added to every response (confighttp response_headers). Values may be secrets.
    response_headers: dict[str, str] = field(default_factory=dict, repr=False)
    compression_algorithms: list[str] | None = None  # None: every encoding this server decodes
    # confighttp's server timeouts (defaults of NewDefaultServerConfig). idle_timeout (or
    # keepalive.idle_timeout) closes idle keep-alive connections; a request must arrive
    # (headers and body) within read_timeout, else read_header_timeout, else the idle timeout.
    read_timeout: Duration = 0.0
    read_header_timeout: Duration = 60.0
    write_timeout: Duration = 30.0
    idle_timeout: Duration = 60.0
    keep_alives_enabled: bool = True
    keepalive: HTTPKeepalive | None = None

    def validate(self) -> None:
        _check_endpoint("endpoint", self.endpoint, self.transport)
        for i, name in enumerate(self.compression_algorithms or ()):
            if name not in COMPRESSION_ALGORITHMS:
                raise ConfigError(f"compression_algorithms[{i}]", f"unsupported compression {name!r}")
        for key in ("read_timeout", "read_header_timeout", "write_timeout", "idle_timeout"):
            if getattr(self, key) < 0:
                raise ConfigError(key, "must not be negative")
        self.traces_url_path = _url_path(self.traces_url_path)
        self.metrics_url_path = _url_path(self.metrics_url_path)
        self.logs_url_path = _url_path(self.logs_url_path)
        paths = [self.traces_url_path, self.metrics_url_path, self.logs_url_path]
        if len(set(paths)) != len(paths):
            raise ConfigError("traces_url_path", "traces_url_path, metrics_url_path and logs_url_path must differ")

    def body_limit(self) -> int:
        return int(self.max_request_body_size) or 20 * 1024 * 1024

    def decoded_encodings(self) -> tuple[str, ...]:
        """Content-Encodings served: the configured ones this server can decode."""
        allowed = DECODABLE if self.compression_algorithms is None else self.compression_algorithms
        return tuple(e for e in allowed if e in DECODABLE)

    def socket_timeout(self) -> float | None:
        """How long a connection may wait for the client: net/http's idle timeout, falling back
        to read_timeout and read_header_timeout as Go does; None when all are 0."""
        idle = self.keepalive.idle_timeout if self.keepalive is not None else self.idle_timeout
        return idle or self.read_timeout or self.read_header_timeout or None

    def keep_alive(self) -> bool:
        return self.keepalive.enabled if self.keepalive is not None else self.keep_alives_enabled

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
