"""`otlp` exporter config: otelcol's otlpexporter keys (configgrpc client + exporterhelper)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from collector.config import ConfigError, Duration
from collector.config.tls import TLSClientConfig
from collector.exporters.exporterhelper.config import AuthConfig, BackOffConfig, QueueConfig, validate_timeout

COMPRESSIONS = ("gzip", "none", "")
# configcompression names grpc-go also offers; grpcio has no zstd or snappy codec.
_UNSUPPORTED_COMPRESSIONS = ("zstd", "snappy")
# Load-balancing policies grpc-go registers that grpcio (grpc core) also has.
_BALANCERS = ("pick_first", "round_robin", "weighted_round_robin", "grpclb", "ring_hash_experimental")


@dataclass
class Config:
    endpoint: str = ""                   # host:port, or http(s)://host:port (https = TLS)
    tls: TLSClientConfig = field(default_factory=TLSClientConfig)  # TLS and verification on by default
    compression: str = "gzip"            # gzip | none | "" (none)
    # Header values are secrets (API keys): never printed, so excluded from repr.
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    timeout: Duration = 5.0              # per attempt; 0 = no limit
    balancer_name: Any = "round_robin"   # grpc load-balancing policy; configgrpc's default since v0.103
    keepalive: Any = None                # {time, timeout, permit_without_stream}
    wait_for_ready: bool = False         # queue RPCs while the channel connects instead of failing
    authority: str = ""                  # overrides the :authority pseudo-header
    read_buffer_size: int = 0            # accepted as configgrpc; grpcio sizes its buffers itself
    write_buffer_size: int = 512 * 1024  # otlpexporter's default; accepted, see read_buffer_size
    auth: AuthConfig | None = None       # an authenticator extension, checked at start
    retry_on_failure: BackOffConfig = field(default_factory=BackOffConfig)
    sending_queue: QueueConfig = field(default_factory=QueueConfig)

    def validate(self) -> None:
        if not self.endpoint.strip():
            raise ConfigError("endpoint", 'requires a non-empty "endpoint"')
        if self.compression in _UNSUPPORTED_COMPRESSIONS:
            raise ConfigError("compression", f"unsupported compression {self.compression!r} in this collector "
                                             "(grpcio has no such codec): use gzip or none")
        if self.compression not in COMPRESSIONS:
            raise ConfigError("compression", f"unsupported compression {self.compression!r}: use gzip or none")
        if self.read_buffer_size < 0:
            raise ConfigError("read_buffer_size", "must not be negative")
        if self.write_buffer_size < 0:
            raise ConfigError("write_buffer_size", "must not be negative")
        validate_timeout(self.timeout)
        if self.balancer_name is not None and not isinstance(self.balancer_name, str):
            raise ConfigError("balancer_name", "expected a string like pick_first or round_robin")
        if self.balancer_name and self.balancer_name not in _BALANCERS:
            raise ConfigError("balancer_name", f"invalid balancer_name: {self.balancer_name} "
                                               f"(use one of {', '.join(_BALANCERS)})")
        if self.keepalive is not None:
            if not isinstance(self.keepalive, dict):
                raise ConfigError("keepalive", "expected a mapping with time, timeout, permit_without_stream")
            unknown = set(self.keepalive) - {"time", "timeout", "permit_without_stream"}
            if unknown:
                raise ConfigError(f"keepalive.{sorted(unknown)[0]}", "unknown key (known keys: permit_without_stream, time, timeout)")
            from collector.config import parse_duration
            for k in ("time", "timeout"):
                if k in self.keepalive:
                    try:
                        parse_duration(self.keepalive[k])
                    except ValueError as e:
                        raise ConfigError(f"keepalive.{k}", str(e)) from None
        if "://" in self.endpoint and not self.endpoint.lower().startswith(("http://", "https://", "dns://")):
            raise ConfigError("endpoint", f"unsupported scheme in {self.endpoint!r}: use host:port, http://, "
                                          "https:// or dns://")
        # configgrpc: the address must carry a port ("missing port in address" otherwise).
        from collector.exporters.exporterhelper.transport_security import grpc_host_port
        if not grpc_host_port(self.endpoint)[1]:
            raise ConfigError("endpoint", f"missing port in address {self.endpoint!r}")
