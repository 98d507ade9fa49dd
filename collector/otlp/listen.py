"""Where and how an OTLP server listens: endpoint parsing and server-side TLS material."""
from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

from .pem import TLS_VERSIONS, load_cert_chain_pem


def split_endpoint(endpoint: str) -> tuple[str, int]:
    """"host:port", "[::1]:port" or ":port" (all interfaces, as Go's net.Listen) -> (host, port)."""
    text = str(endpoint).strip()
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"endpoint {endpoint!r} must be host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"endpoint {endpoint!r}: put an IPv6 address in brackets, like [::1]:4317")
    return host, int(port)


def join_endpoint(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class ServerTLS:
    """Certificate and key the server presents; client_ca_file turns on mutual TLS."""

    cert_file: str = ""
    key_file: str = ""
    cert_pem: str = ""
    key_pem: str = ""
    client_ca_file: str = ""
    min_version: str = "1.2"
    max_version: str = ""

    @classmethod
    def from_config(cls, cfg: Any) -> "ServerTLS | None":
        """From collector.config.tls.TLSServerConfig (or None: plain text)."""
        if cfg is None:
            return None
        return cls(cert_file=cfg.cert_file, key_file=cfg.key_file, cert_pem=cfg.cert_pem,
                   key_pem=cfg.key_pem, client_ca_file=cfg.client_ca_file,
                   min_version=cfg.min_version or "1.2", max_version=cfg.max_version)

    def _read(self, path: str, pem: str) -> bytes:
        if path:
            with open(path, "rb") as f:
                return f.read()
        return pem.encode()

    def cert_chain(self) -> bytes:
        return self._read(self.cert_file, self.cert_pem)

    def private_key(self) -> bytes:
        return self._read(self.key_file, self.key_pem)

    def client_ca(self) -> bytes | None:
        return self._read(self.client_ca_file, "") if self.client_ca_file else None

    def ssl_context(self) -> ssl.SSLContext:
        """For the HTTP server. Raises OSError / ssl.SSLError when the files are unusable."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = TLS_VERSIONS.get(self.min_version, ssl.TLSVersion.TLSv1_2)
        if self.max_version:
            ctx.maximum_version = TLS_VERSIONS[self.max_version]
        if self.cert_file and self.key_file:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        else:
            load_cert_chain_pem(ctx, self.cert_chain(), self.private_key())
        if self.client_ca_file:
            ctx.load_verify_locations(self.client_ca_file)
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def grpc_credentials(self):
        """For the gRPC server. grpcio has no minimum-version switch: its TLS stack (BoringSSL)
        negotiates 1.2 or 1.3 only, which matches the collector's default min_version."""
        import grpc

        ca = self.client_ca()
        return grpc.ssl_server_credentials(
            [(self.private_key(), self.cert_chain())],
            root_certificates=ca, require_client_auth=ca is not None)
