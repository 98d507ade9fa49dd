"""`health_check` extension: HTTP 200 once every pipeline started (and is healthy), else 503."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ...component import Component, ExtensionFactory
from ...config import ConfigError, Duration
from ...config.tls import TLSServerConfig


@dataclass
class CheckPipeline:
    enabled: bool = False          # also report 503 while a component (e.g. an exporter) is failing
    interval: Duration = 300.0
    exporter_failure_threshold: int = 5

    def validate(self) -> None:
        if self.exporter_failure_threshold <= 0:
            raise ConfigError("exporter_failure_threshold", "expects a positive number")


@dataclass
class ResponseBody:
    """`response_body`: sent as is instead of the JSON status document."""
    healthy: str = ""
    unhealthy: str = ""


@dataclass
class AuthConfig:
    authenticator: str = ""
    request_params: list[str] = field(default_factory=list)


@dataclass
class Config:
    endpoint: str = "localhost:13133"
    path: str = "/"
    response_body: ResponseBody | None = None
    check_collector_pipeline: CheckPipeline = field(default_factory=CheckPipeline)
    tls: TLSServerConfig | None = None
    # The rest of confighttp.ServerConfig, which this extension embeds. Only response_headers
    # changes an answer here; the others are accepted for compatibility (a GET has no body).
    response_headers: dict[str, str] = field(default_factory=dict, repr=False)
    auth: AuthConfig | None = None  # the start fails: this collector has no authenticators
    cors: Any = None
    include_metadata: bool = False
    max_request_body_size: int = 0
    compression_algorithms: list[str] | None = None
    read_timeout: Duration = 0.0
    read_header_timeout: Duration = 60.0
    write_timeout: Duration = 30.0
    idle_timeout: Duration = 60.0
    keep_alives_enabled: bool = True

    def validate(self) -> None:
        if not self.endpoint:
            raise ConfigError("endpoint", "must be specified")
        host, _, port = self.endpoint.rpartition(":")
        if not port.isdigit():
            raise ConfigError("endpoint", f"expected host:port, got {self.endpoint!r}")
        if not self.path.startswith("/"):
            raise ConfigError("path", "must start with /")


def split_endpoint(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    return (host.strip("[]") or "0.0.0.0"), int(port)


def path_matches(pattern: str, path: str) -> bool:
    """Go's ServeMux rule the extension relies on: a pattern ending in "/" (the default "/")
    matches every path under it; any other pattern only itself."""
    return path.startswith(pattern) if pattern.endswith("/") else path == pattern


class HealthCheck(Component):
    def __init__(self, settings, config: Config) -> None:
        self.settings = settings
        self.config = config
        self.server: ThreadingHTTPServer | None = None
        self.host = None

    def start(self, host) -> None:
        self.host = host
        ext = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server naming
                if not path_matches(ext.config.path, self.path.split("?")[0]):
                    self.send_error(404)
                    return
                code, body = ext.answer()
                if isinstance(body, str):  # response_body: as configured, not JSON
                    data, ctype = body.encode(), "text/plain; charset=utf-8"
                else:
                    data, ctype = json.dumps(body).encode(), "application/json"
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in ext.config.response_headers.items():
                    self.send_header(str(k), str(v))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet when healthy
                pass

        if self.config.auth is not None:
            raise ValueError(f"auth.authenticator: {self.config.auth.authenticator} is not an authenticator "
                             "extension (this collector has no authenticator extensions)")
        self.server = ThreadingHTTPServer(split_endpoint(self.config.endpoint), Handler)
        self.server.daemon_threads = True
        if self.config.tls is not None:
            from ...otlp.listen import ServerTLS
            try:
                ctx = ServerTLS.from_config(self.config.tls).ssl_context()
            except Exception:
                self.server.server_close()
                raise
            # The handshake happens in the connection's thread (on its first read), not in
            # the accept loop, so a client that never completes it cannot stall the server.
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True,
                                                 do_handshake_on_connect=False)
        threading.Thread(target=self.server.serve_forever, name="health-check", daemon=True).start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def answer(self) -> tuple[int, dict]:
        svc = self.host
        healthy = svc.is_healthy(include_components=self.config.check_collector_pipeline.enabled) if hasattr(svc, "is_healthy") else True
        if self.config.response_body is not None:
            rb = self.config.response_body
            return (200 if healthy else 503), (rb.healthy if healthy else rb.unhealthy)
        else:
            up = getattr(svc, "started_at", None) or time.time()
            body = {"status": "Server available" if healthy else "Server not available",
                    "upSince": datetime.fromtimestamp(up, timezone.utc).isoformat(),
                    "uptime": f"{time.time() - up:.3f}s"}
            if hasattr(svc, "status"):
                body["components"] = {k: {"healthy": v.healthy, "message": v.message} for k, v in svc.status().items()}
        return (200 if healthy else 503), body

    def shutdown(self, deadline: float) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def create(settings, config):
    return HealthCheck(settings, config)


factory = ExtensionFactory(type="health_check", config_class=Config, create=create)
