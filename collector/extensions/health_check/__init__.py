"""`health_check` extension: HTTP 200 once every pipeline started (and is healthy), else 503."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ...component import Component, ExtensionFactory
from ...config import ConfigError, Duration


@dataclass
class CheckPipeline:
    enabled: bool = False          # also report 503 while a component (e.g. an exporter) is failing
    interval: Duration = 300.0
    exporter_failure_threshold: int = 5


@dataclass
class Config:
    endpoint: str = "localhost:13133"
    path: str = "/"
    response_body: dict | None = None
    check_collector_pipeline: CheckPipeline = field(default_factory=CheckPipeline)
    tls: dict | None = None

    def validate(self) -> None:
        host, _, port = self.endpoint.rpartition(":")
        if not port.isdigit():
            raise ConfigError("endpoint", f"expected host:port, got {self.endpoint!r}")
        if not self.path.startswith("/"):
            raise ConfigError("path", "must start with /")


def split_endpoint(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    return (host.strip("[]") or "0.0.0.0"), int(port)


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
                if self.path.split("?")[0] != ext.config.path:
                    self.send_error(404)
                    return
                code, body = ext.answer()
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet when healthy
                pass

        self.server = ThreadingHTTPServer(split_endpoint(self.config.endpoint), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="health-check", daemon=True).start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def answer(self) -> tuple[int, dict]:
        svc = self.host
        healthy = svc.is_healthy(include_components=self.config.check_collector_pipeline.enabled) if hasattr(svc, "is_healthy") else True
        if self.config.response_body:
            body = {"status": self.config.response_body.get("healthy" if healthy else "unhealthy", "")}
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
