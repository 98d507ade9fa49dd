"""prometheus exporter: keeps the latest value of every series (SeriesStore) and serves them in
the Prometheus text format at http://<endpoint>/metrics."""
from __future__ import annotations

import gzip
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from collector.component import Component
from collector.pdata import count_items

from .config import Config
from .series_store import SeriesStore

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def _server_ssl_context(tls) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    versions = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
                "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
    if tls.min_version:
        ctx.minimum_version = versions[tls.min_version]
    if tls.max_version:
        ctx.maximum_version = versions[tls.max_version]
    ctx.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.client_ca_file:
        ctx.load_verify_locations(tls.client_ca_file)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - scrapes are not worth a log line each
        pass

    def do_GET(self):  # noqa: N802 - http.server's naming
        exporter = self.server.exporter
        if self.path.split("?", 1)[0] != "/metrics":
            self._send(404, b"not found\n", "text/plain; charset=utf-8")
            return
        body = exporter.render()
        ctype = TEXT_CONTENT_TYPE
        if exporter.config.enable_open_metrics and "application/openmetrics-text" in self.headers.get("Accept", ""):
            body += "# EOF\n"
            ctype = OPENMETRICS_CONTENT_TYPE
        data = body.encode()
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            self._send(200, gzip.compress(data, 1), ctype, {"Content-Encoding": "gzip"})
        else:
            self._send(200, data, ctype)

    def _send(self, code: int, data: bytes, ctype: str, headers: dict | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


class PrometheusExporter(Component):
    def __init__(self, settings, config: Config, signals=frozenset({"metrics"})):
        self.settings = settings
        self.config = config
        self.log = settings.logger
        self.telemetry = settings.telemetry
        self.store = SeriesStore(config.namespace, config.const_labels, config.send_timestamps,
                                 config.metric_expiration,
                                 config.resource_to_telemetry_conversion.enabled, config.adds_suffixes())
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.scrapes = 0

    @property
    def address(self) -> tuple[str, int]:
        return self._httpd.server_address[:2]

    def start(self, host) -> None:
        hostname, _, port = self.config.endpoint.rpartition(":")
        self._httpd = ThreadingHTTPServer((hostname or "0.0.0.0", int(port)), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.exporter = self
        if self.config.tls is not None:
            self._httpd.socket = _server_ssl_context(self.config.tls).wrap_socket(
                self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        daemon=True, name=f"prometheus-{self.settings.id}")
        self._thread.start()
        if host is not None:
            host.report_status(str(self.settings.id), True, f"serving /metrics on {self.config.endpoint}")

    def consume(self, payload) -> None:
        # Never blocks on the network: ingest only updates in-memory series.
        n = count_items("metrics", payload.request)
        try:
            dropped = self.store.ingest(payload.request)
        except Exception:  # malformed data must not kill the pipeline: drop and count it
            self.log.exception("prometheus exporter: could not convert metrics")
            self.telemetry.exporter_send_failed("metrics", n)
            payload.ack(False)
            return
        if dropped:
            self.telemetry.dropped("metrics", dropped, "unsupported_temporality_or_type")
        self.telemetry.exporter_sent("metrics", n - dropped)
        payload.ack(True)

    def render(self) -> str:
        self.scrapes += 1
        return self.store.render()

    def shutdown(self, deadline: float) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
