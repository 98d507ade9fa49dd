"""prometheus exporter: keeps the latest value of every series (SeriesStore) and serves them in
the Prometheus text format at http://<endpoint>/metrics."""
from __future__ import annotations

import socket
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from collector.component import Component
from collector.otlp.listen import ServerTLS, split_endpoint
from collector.pdata import count_items

from .config import Config
from .series_store import SeriesStore

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - scrapes are not worth a log line each
        pass

    def do_GET(self):  # noqa: N802 - http.server's naming
        exporter = self.server.exporter
        if self.path.split("?", 1)[0] != "/metrics":
            self._send(404, b"not found\n", "text/plain; charset=utf-8")
            return
        ctype = TEXT_CONTENT_TYPE
        openmetrics = exporter.config.enable_open_metrics and \
            "application/openmetrics-text" in self.headers.get("Accept", "")
        if openmetrics:
            ctype = OPENMETRICS_CONTENT_TYPE
        gz = zlib.compressobj(1, zlib.DEFLATED, 31) if "gzip" in self.headers.get("Accept-Encoding", "") else None
        # Streamed family by family with chunked encoding: a 50 MB endpoint is never held whole.
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        if gz is not None:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        try:
            for text in exporter.families(openmetrics):
                self._chunk(text.encode(), gz)
            if openmetrics:
                self._chunk(b"# EOF\n", gz)
            if gz is not None:
                self._raw_chunk(gz.flush())
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the scraper went away (timeout): nothing to do

    def _chunk(self, data: bytes, gz) -> None:
        self._raw_chunk(gz.compress(data) if gz is not None else data)

    def _raw_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")

    def _send(self, code: int, data: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


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
        address, port = split_endpoint(self.config.endpoint)
        server_class = _IPv6Server if ":" in address else ThreadingHTTPServer
        self._httpd = server_class((address or "0.0.0.0", port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.exporter = self
        if self.config.tls is not None:
            self._httpd.socket = ServerTLS.from_config(self.config.tls).ssl_context().wrap_socket(
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

    def families(self, openmetrics: bool = False):
        self.scrapes += 1
        return self.store.families_text(openmetrics)

    def render(self) -> str:
        return "".join(self.families())

    def shutdown(self, deadline: float) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
