"""`headers` reach the gateway on every request, over gRPC (metadata) and HTTP, and the
request body arrives as sent (gzip announced and applied). Small recording servers stand in for
the gateway here because the sink does not keep request headers."""
from __future__ import annotations

import gzip
import http.server
import threading
from concurrent import futures

import grpc

from collector.exporters.otlp import factory as grpc_factory
from collector.exporters.otlphttp import factory as http_factory
from collector.pdata import REQUEST_TYPES
from tests.exporters.harness import AckRecorder, logs_request, make_exporter, payload


def test_grpc_headers_and_compression_reach_the_server():
    seen = []

    def export(body, context):
        seen.append((dict(context.invocation_metadata()), body))
        return b""

    server = grpc.server(futures.ThreadPoolExecutor(2))
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "opentelemetry.proto.collector.logs.v1.LogsService",
        {"Export": grpc.unary_unary_rpc_method_handler(export)})])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    built = make_exporter(grpc_factory, {"endpoint": f"127.0.0.1:{port}", "tls": {"insecure": True},
                                         "headers": {"X-Scope-OrgID": "tenant-7", "authorization": "Bearer t"}})
    ack = AckRecorder()
    try:
        req = logs_request(2)
        built.exporter.consume(payload("logs", req, ack))
        assert ack.wait(1) == [True]
        metadata, body = seen[0]
        assert metadata["x-scope-orgid"] == "tenant-7" and metadata["authorization"] == "Bearer t"
        assert REQUEST_TYPES["logs"].FromString(body) == req
    finally:
        built.shutdown()
        server.stop(0)


class CountingProxy:
    """A TCP relay counting the bytes a client sends upstream: proves compression on the wire."""

    def __init__(self, upstream_port: int) -> None:
        import socket

        self.upstream = ("127.0.0.1", upstream_port)
        self.sent = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket

        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src, dst, count: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if count:
                    with self._lock:
                        self.sent += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def close(self) -> None:
        self._closed = True
        self._listener.close()


def test_grpc_gzip_shrinks_the_bytes_on_the_wire(sink):
    port = int(sink.grpc_endpoint.rsplit(":", 1)[1])
    sent = {}
    for compression in ("none", "gzip"):
        proxy = CountingProxy(port)
        built = make_exporter(grpc_factory, {"endpoint": f"127.0.0.1:{proxy.port}", "tls": {"insecure": True},
                                             "compression": compression})
        ack = AckRecorder()
        try:
            built.exporter.consume(payload("logs", logs_request(200, body="x" * 1000), ack))
            assert ack.wait(1) == [True]
        finally:
            built.shutdown()
            proxy.close()
        sent[compression] = proxy.sent
    assert sent["none"] > 200_000
    assert sent["gzip"] < sent["none"] / 10


def test_http_headers_content_type_and_gzip_reach_the_server():
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.path, dict(self.headers), body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    built = make_exporter(http_factory, {"endpoint": f"http://127.0.0.1:{server.server_port}",
                                         "headers": {"X-Api-Key": "k-123"}})
    ack = AckRecorder()
    try:
        req = logs_request(3)
        built.exporter.consume(payload("logs", req, ack))
        assert ack.wait(1) == [True]
        path, headers, body = seen[0]
        assert path == "/v1/logs"
        assert headers["X-Api-Key"] == "k-123"
        assert headers["Content-Type"] == "application/x-protobuf"
        assert headers["Content-Encoding"] == "gzip"
        assert REQUEST_TYPES["logs"].FromString(gzip.decompress(body)) == req
    finally:
        built.shutdown()
        server.shutdown()
        server.server_close()
