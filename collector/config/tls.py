"""TLS settings shared by clients (exporters, scrapers) and servers (receivers), as configtls."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .decode import ConfigError

TLS_VERSIONS = ("1.0", "1.1", "1.2", "1.3")


def _check_version(key: str, value: str) -> None:
    if value and value not in TLS_VERSIONS:
        raise ConfigError(key, f"unsupported TLS version {value!r}: use one of {', '.join(TLS_VERSIONS)}")


@dataclass
class TLSClientConfig:
    insecure: bool = False              # plain text (no TLS) for non-https endpoints
    insecure_skip_verify: bool = False  # TLS, but do not verify the server's certificate
    ca_file: str = ""
    ca_pem: str = ""
    cert_file: str = ""
    key_file: str = ""
    cert_pem: str = ""
    key_pem: str = ""
    server_name_override: str = ""
    min_version: str = "1.2"
    max_version: str = ""
    reload_interval: Any = None
    include_system_ca_certs_pool: bool = False
    cipher_suites: list[str] | None = None

    def validate(self) -> None:
        _check_version("min_version", self.min_version)
        _check_version("max_version", self.max_version)
        if bool(self.cert_file or self.cert_pem) != bool(self.key_file or self.key_pem):
            raise ConfigError("cert_file", "cert_file and key_file must be given together")


@dataclass
class TLSServerConfig:
    cert_file: str = ""
    key_file: str = ""
    cert_pem: str = ""
    key_pem: str = ""
    ca_file: str = ""
    client_ca_file: str = ""
    min_version: str = "1.2"
    max_version: str = ""
    reload_interval: Any = None
    cipher_suites: list[str] | None = None

    def validate(self) -> None:
        _check_version("min_version", self.min_version)
        _check_version("max_version", self.max_version)
        if not (self.cert_file or self.cert_pem) or not (self.key_file or self.key_pem):
            raise ConfigError("cert_file", "a server TLS config needs cert_file and key_file")
