"""OTLP/HTTP server: POST /v1/{traces,metrics,logs} in protobuf or JSON, gzip or deflate bodies.

Answers as the collector's otlpreceiver does: the response (or the google.rpc.Status of an
error) in the request's encoding; 415 for another content type; 400 for a body that does not
decode; 413 for a body too large (http_body.py); 404 for an unknown path, 405 for a method
other than POST; 503/429/400... from the handler (see the table in collector/otlp/__init__.py).

One thread per connection (HTTP/1.1 keep-alive) from socketserver, bounded by max_connections:
when all are busy the accept loop waits and new clients queue in the kernel's listen backlog.
TLS handshakes run in the connection's thread, so a slow client cannot stall the accept loop.
"""
from __future__ import annotations

import http.server
import logging
import os
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass, field

from google.protobuf import json_format

from .cors import CORSPolicy
from .http_body import BadRequest, read_body
from .json_codec import parse_json_bytes, to_json
from .listen import ServerTLS, join_endpoint, split_endpoint
from .server import BadRequestCounter, Handler, call_handler
from .services import SERVICES
from .status import GRPC_CODES, ExportFailure

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


@dataclass
class HTTPSettings:
    endpoint: str = "localhost:4318"
    paths: dict[str, str] = field(default_factory=lambda: {s: v.url_path for s, v in SERVICES.items()})
    max_request_body_size: int = 20 * 1024 * 1024
    tls: ServerTLS | None = None
    max_connections: int = 256
    idle_timeout: float | None = 60.0  # a keep-alive connection idle this long is closed
    handshake_timeout: float = 10.0
    cors: CORSPolicy | None = None
    transport: str = "tcp"           # "unix": endpoint is a socket path
    response_headers: tuple = ()     # (name, value) pairs added to every answer
    encodings: tuple | None = None   # Content-Encodings accepted; None = all decodable
    keep_alive: bool = True          # False: one request per connection


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "skuber-otlp"
    sys_version = ""
    # Headers and body are two writes; with Nagle the second can wait for a delayed ACK (40 ms).
    disable_nagle_algorithm = True
    # A garbled request line gets a real HTTP/1.0 status line, not an HTTP/0.9 bare HTML page.
    default_request_version = "HTTP/1.0"
    error_content_type = "text/plain"
    error_message_format = "%(code)d %(message)s\n"

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        self.timeout = self.server.owner.settings.idle_timeout
        # TCP_NODELAY does not exist on a unix socket.
        self.disable_nagle_algorithm = self.server.owner.settings.transport != "unix"
        super().setup()
        if self.timeout is None:
            self.connection.settimeout(None)  # no timeout configured: not even the handshake's

    def address_string(self) -> str:
        # A unix socket client has no address ("" instead of (host, port)).
        return self.client_address[0] if self.client_address else "unix"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        self.server.owner.log.debug("%s " + format, self.address_string(), *args)

    def do_POST(self) -> None:
        self.server.owner.serve_post(self)

    def _not_post(self) -> None:
        self.server.owner.serve_other(self)

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_post


class _ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, owner: "HTTPServer", address, family) -> None:
        self.owner = owner
        self.address_family = family
        super().__init__(address, _RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn): a DNS lookup we do not need.
        socketserver.TCPServer.server_bind(self)
        if self.address_family == getattr(socket, "AF_UNIX", None):
            self.server_name, self.server_port = str(self.server_address), 0
        else:
            self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request, client_address) -> None:
        if not self.owner.acquire_slot():
            self.owner.bad.inc("http", "stopping")  # accepted while stopping: not served
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.owner.release_slot()

    def finish_request(self, request, client_address) -> None:
        self.owner.serve_connection(request, client_address)

    def handle_error(self, request, client_address) -> None:
        # A client that vanished mid-request is routine; anything else is logged, not printed.
        self.owner.log.debug("connection from %s failed", client_address, exc_info=True)


class HTTPServer:
    """Serves the OTLP/HTTP paths of the given signals; `handle` decides each request's fate."""

    transport = "http"

    def __init__(self, settings: HTTPSettings, handle: Handler, signals=tuple(SERVICES),
                 logger: logging.Logger | None = None, bad_requests: BadRequestCounter | None = None):
        self.settings = settings
        self._handle = handle
        self.log = logger or logging.getLogger("collector.otlp.http")
        self.bad = bad_requests or BadRequestCounter()
        self._routes = {settings.paths[s]: s for s in signals}
        self._slots = threading.BoundedSemaphore(settings.max_connections)
        self._stopping = threading.Event()
        self._conns: set = set()          # open connection sockets, cut on stop
        self._inflight = 0                # requests being handled
        self._conns_lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None
        self._server: _ThreadingServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        if self.settings.transport == "unix":
            return self.settings.endpoint
        host, _ = split_endpoint(self.settings.endpoint)
        return join_endpoint(host or "0.0.0.0", self.port)

    def start(self) -> None:
        """Bind and serve in a background thread. Raises OSError if the endpoint is unusable."""
        if self.settings.transport == "unix":
            address, family = self.settings.endpoint, socket.AF_UNIX
        else:
            host, port = split_endpoint(self.settings.endpoint)
            address, family = (host, port), (socket.AF_INET6 if ":" in host else socket.AF_INET)
        if self.settings.tls is not None:
            self._ssl = self.settings.tls.ssl_context()
        try:
            self._server = _ThreadingServer(self, address, family)
        except OSError as e:
            raise OSError(e.errno, f"cannot listen on {self.settings.endpoint} (HTTP): {e.strerror or e}") from None
        self.port = 0 if family == getattr(socket, "AF_UNIX", None) else self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="otlp-http-accept", daemon=True)
        self._thread.start()

    def stop(self, grace: float = 1.0) -> None:
        """Stop accepting, let requests in flight finish for up to `grace` s, close the rest."""
        if self._server is None or self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self.settings.transport == "unix":
            # As Go's listener does on close: a socket file left behind would refuse the next bind.
            try:
                os.unlink(self.settings.endpoint)
            except FileNotFoundError:
                pass
        # Requests in flight may finish within the grace period; idle keep-alives are cut.
        waiter = threading.Event()
        for _ in range(max(1, int(grace / 0.05))):
            with self._conns_lock:
                if self._inflight == 0:
                    break
            waiter.wait(0.05)
        with self._conns_lock:
            socks = list(self._conns)
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- connection slots --------------------------------------------------------------------
    def acquire_slot(self) -> bool:
        while not self._stopping.is_set():
            if self._slots.acquire(timeout=0.2):
                return True
        return False

    def release_slot(self) -> None:
        self._slots.release()

    def serve_connection(self, sock, client_address) -> None:
        if self._ssl is not None:
            try:
                sock.settimeout(self.settings.handshake_timeout)
                sock = self._ssl.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError) as e:
                self.bad.inc("http", "tls")
                self.log.debug("TLS handshake with %s failed: %s", client_address, e)
                return
        with self._conns_lock:
            self._conns.add(sock)
        try:
            _RequestHandler(sock, client_address, self._server)
        finally:
            with self._conns_lock:
                self._conns.discard(sock)
            if self._ssl is not None:
                try:
                    sock.close()
                except OSError:
                    pass

    # -- requests ----------------------------------------------------------------------------
    def serve_other(self, h: _RequestHandler) -> None:
        path = h.path.split("?", 1)[0]
        cors = self.settings.cors
        if h.command == "OPTIONS" and cors is not None and path in self._routes:
            status, headers = cors.preflight(h.headers.get("Origin"), h.headers.get("Access-Control-Request-Method"),
                                             h.headers.get("Access-Control-Request-Headers"))
            self._send(h, status, b"", "text/plain", headers, drain=bool(h.headers.get("Content-Length")), cors=False)
            return
        if path in self._routes:
            self.bad.inc("http", "method")
            self._send(h, 405, b"405 method not allowed, supported: [POST]", "text/plain",
                       (("Allow", "POST"),), drain=True)
        else:
            self.bad.inc("http", "path")
            self._send(h, 404, b"404 page not found", "text/plain", drain=True)

    def serve_post(self, h: _RequestHandler) -> None:
        with self._conns_lock:
            self._inflight += 1
        try:
            self._serve_post(h)
        finally:
            with self._conns_lock:
                self._inflight -= 1

    def _serve_post(self, h: _RequestHandler) -> None:
        signal = self._routes.get(h.path.split("?", 1)[0])
        if signal is None:
            self.bad.inc("http", "path")
            self._send(h, 404, b"404 page not found", "text/plain", drain=True)
            return
        ctype = (h.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if ctype not in (PROTOBUF, JSON):
            self.bad.inc("http", "media_type")
            self._send(h, 415, f"415 unsupported media type, supported: [{JSON}, {PROTOBUF}]".encode(),
                       "text/plain", drain=True)
            return
        try:
            body = read_body(h, self.settings.max_request_body_size, self.settings.encodings)
            request = self._decode(signal, ctype, body)
        except BadRequest as e:
            self.bad.inc("http", e.reason)
            self._send_status(h, ctype, ExportFailure("INVALID_ARGUMENT", e.status, e.message))
            return
        peer = h.client_address[0] if h.client_address else None
        try:
            result = call_handler(self._handle, signal, request, "http", peer, self.log)
        except ExportFailure as f:
            self._send_status(h, ctype, f)
            return
        service = SERVICES[signal]
        response = service.response(result.rejected, result.error_message) if result else service.response()
        self._send(h, 200, self._encode(ctype, signal, response), ctype)

    @staticmethod
    def _decode(signal: str, ctype: str, body: bytes):
        if ctype == JSON:
            try:
                return parse_json_bytes(signal, body)
            except ValueError as e:
                raise BadRequest(400, "decode", str(e)) from None
        try:
            return SERVICES[signal].request_type.FromString(body)
        except Exception as e:  # DecodeError, or upb's recursion limit on hostile input
            raise BadRequest(400, "decode", f"cannot decode {signal} request: {e}") from None

    @staticmethod
    def _encode(ctype: str, signal: str | None, message) -> bytes:
        if ctype == JSON:
            import json

            obj = to_json(signal, message) if signal else json_format.MessageToDict(message)
            return json.dumps(obj, separators=(",", ":")).encode()
        return message.SerializeToString()

    def _send_status(self, h: _RequestHandler, ctype: str, f: ExportFailure) -> None:
        from google.rpc import status_pb2

        status = status_pb2.Status(code=GRPC_CODES[f.grpc_code], message=f.message)
        headers = []
        retry_after = f.retry_after_header()
        if retry_after is not None:
            headers.append(("Retry-After", retry_after))
        self._send(h, f.http_status, self._encode(ctype, None, status), ctype, headers)

    def _send(self, h: _RequestHandler, status: int, body: bytes, ctype: str, headers=(),
              drain: bool = False, cors: bool = True) -> None:
        if cors and self.settings.cors is not None:
            headers = [*headers, *self.settings.cors.actual_headers(h.headers.get("Origin"))]
        if self.settings.response_headers:
            headers = [*headers, *self.settings.response_headers]
        if drain or not self.settings.keep_alive:
            # Answering before reading the body: it would be read as the next request.
            h.close_connection = True
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            for k, v in headers:
                h.send_header(k, v)
            if h.close_connection:
                h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(body)
        except OSError:
            h.close_connection = True  # the client went away; nothing to answer
