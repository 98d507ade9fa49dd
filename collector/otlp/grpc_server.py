"""OTLP/gRPC server: the three Export services on one grpcio (sync, thread pool) server.

Requests arrive as raw bytes (no deserializer registered) so that a body that does not decode
is answered INVALID_ARGUMENT as the collector does; grpcio would answer INTERNAL when its own
deserializer fails. The message is parsed once with FromString and handed on as is.
"""
from __future__ import annotations

import logging
import socket
import threading
from concurrent import futures
from dataclasses import dataclass, field
from urllib.parse import unquote

from .listen import ServerTLS, join_endpoint, split_endpoint
from .server import BadRequestCounter, Handler, call_handler
from .services import SERVICES
from .status import GRPC_CODES, ExportFailure


@dataclass
class GRPCSettings:
    endpoint: str = "localhost:4317"
    max_recv_msg_size: int = 4 * 1024 * 1024   # bytes, after decompression (grpc enforces it)
    max_concurrent_streams: int = 0             # per connection; 0 = grpc's default
    tls: ServerTLS | None = None
    workers: int = 8
    # Calls waiting for a worker are bounded; beyond this grpc answers RESOURCE_EXHAUSTED.
    max_pending_calls: int = 256
    extra_options: list = field(default_factory=list)  # grpc core channel args (keepalive)
    transport: str = "tcp"                      # "unix": endpoint is a socket path


def peer_ip(peer: str) -> str | None:
    """IP of a grpc peer string: 'ipv4:10.0.0.1:5000', 'ipv6:[::1]:5000' (maybe %-encoded)."""
    kind, _, rest = (peer or "").partition(":")
    if kind == "ipv4":
        return rest.rpartition(":")[0] or None
    if kind == "ipv6":
        host = unquote(rest).rpartition(":")[0]
        return host.strip("[]") or None
    return None


def _failure_metadata(failure: ExportFailure):
    """google.rpc.Status with a RetryInfo detail, sent the way grpcio-status sends it."""
    from google.protobuf import duration_pb2
    from google.rpc import error_details_pb2, status_pb2

    status = status_pb2.Status(code=GRPC_CODES[failure.grpc_code], message=failure.message)
    if failure.retry_after is not None:
        seconds = max(0.0, float(failure.retry_after))
        info = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(
            seconds=int(seconds), nanos=int(round((seconds - int(seconds)) * 1e9))))
        status.details.add().Pack(info)
    return (("grpc-status-details-bin", status.SerializeToString()),)


class GRPCServer:
    """Serves Export for the given signals; `handle` decides each request's fate."""

    transport = "grpc"

    def __init__(self, settings: GRPCSettings, handle: Handler, signals=tuple(SERVICES),
                 logger: logging.Logger | None = None, bad_requests: BadRequestCounter | None = None):
        self._settings = settings
        self._handle = handle
        self._signals = tuple(signals)
        self._log = logger or logging.getLogger("collector.otlp.grpc")
        self._bad = bad_requests or BadRequestCounter()
        self._server = None
        self._executor: futures.ThreadPoolExecutor | None = None
        self.port = 0
        self._stopped = threading.Event()

    @property
    def endpoint(self) -> str:
        if self._settings.transport == "unix":
            return self._settings.endpoint
        host, _ = split_endpoint(self._settings.endpoint)
        return join_endpoint(host or "0.0.0.0", self.port)

    def _method(self, signal: str):
        import grpc

        service = SERVICES[signal]
        codes = grpc.StatusCode

        def export(raw: bytes, context):
            try:
                request = service.request_type.FromString(raw)
            except Exception as e:  # DecodeError, or upb's recursion limit on hostile input
                self._bad.inc("grpc", "decode")
                context.abort(codes.INVALID_ARGUMENT, f"cannot decode {signal} request: {e}")
            try:
                result = call_handler(self._handle, signal, request, "grpc", peer_ip(context.peer()),
                                      self._log)
            except ExportFailure as f:
                context.set_trailing_metadata(_failure_metadata(f))
                context.abort(getattr(codes, f.grpc_code), f.message)
            if result is None:
                return b""  # an empty response message encodes to zero bytes
            return service.response(result.rejected, result.error_message).SerializeToString()

        return grpc.unary_unary_rpc_method_handler(export)

    def start(self) -> None:
        """Bind and serve. Raises OSError when the endpoint cannot be bound."""
        import grpc

        s = self._settings
        if s.transport == "unix":
            host, port = "", 0
        else:
            host, port = split_endpoint(s.endpoint)
        options = [
            ("grpc.max_receive_message_length", int(s.max_recv_msg_size)),
            # grpc turns SO_REUSEPORT on by default: a second server would then "bind" a port
            # already in use and steal half its connections. A busy port must be an error.
            ("grpc.so_reuseport", 0),
        ]
        options.extend(s.extra_options)
        if s.max_concurrent_streams > 0:
            options.append(("grpc.max_concurrent_streams", int(s.max_concurrent_streams)))
        self._executor = futures.ThreadPoolExecutor(max_workers=s.workers, thread_name_prefix="otlp-grpc")
        server = grpc.server(self._executor, options=options, maximum_concurrent_rpcs=s.max_pending_calls)
        for signal in self._signals:
            server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
                SERVICES[signal].grpc_service, {"Export": self._method(signal)}),))
        if s.transport == "unix":
            address = "unix:" + s.endpoint
        else:
            address = join_endpoint(host, port) if host else f"[::]:{port}"
        try:
            if s.tls is not None:
                bound = server.add_secure_port(address, s.tls.grpc_credentials())
            else:
                bound = server.add_insecure_port(address)
            if not bound and s.transport != "unix":  # a unix socket has no port: grpcio returns 1
                raise RuntimeError("address in use or invalid")
        except (RuntimeError, OSError) as e:  # newer grpcio raises; older returns port 0
            self._executor.shutdown(wait=False)
            self._executor = None
            why = _bind_error(host, port) if s.transport != "unix" else None
            raise OSError(f"cannot listen on {s.endpoint} (gRPC): {why or e}") from None
        self.port = 0 if s.transport == "unix" else bound
        server.start()
        self._server = server

    def stop(self, grace: float = 1.0) -> None:
        """Stop accepting, give in-flight calls up to `grace` seconds, then cancel the rest."""
        if self._server is not None and not self._stopped.is_set():
            self._stopped.set()
            self._server.stop(grace).wait(grace + 5)
        if self._executor is not None:
            # grpc does not own the pool it was given: without this its workers outlive the server.
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def _bind_error(host: str, port: int) -> str | None:
    """grpcio says only "Failed to bind"; a plain bind of the same address names the reason
    (`address already in use`, `cannot assign requested address`) for the person reading it."""
    try:
        infos = socket.getaddrinfo(host or "::", port, type=socket.SOCK_STREAM)
    except OSError as e:
        return f"cannot resolve {host!r}: {e.strerror or e}"
    for family, kind, proto, _, addr in infos[:1]:
        with socket.socket(family, kind, proto) as probe:
            try:
                probe.bind(addr)
            except OSError as e:
                return (e.strerror or str(e)).lower()
    return None
