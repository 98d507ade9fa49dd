"""The fake OTLP gateway: a real OTLP/gRPC + OTLP/HTTP server that records what it accepts.

In-process use (tests):

    sink = Sink()                      # grpc="127.0.0.1:0", http="127.0.0.1:0": free ports
    sink.start()
    ... point an exporter at sink.grpc_endpoint ("127.0.0.1:PORT") or sink.http_endpoint
    ... ("http://127.0.0.1:PORT"; "https://" when tls_cert is given) ...
    sink.wait_for(lambda s: s.count("logs") >= 10, timeout=10)
    sink.records                       # [{"signal", "transport", "request": <OTLP/JSON dict>}]
    sink.messages("logs")              # the Export*ServiceRequest protobuf messages
    sink.set_failure("UNAVAILABLE", times=2, retry_after=1.5)   # script the next answers
    sink.stop()

Scripted failures (set_failure) answer the next `times` requests (-1: until clear_failure) with
`status`: a gRPC code name ("UNAVAILABLE") or an HTTP status (503); the other transport gets the
mapped code (collector.otlp.status). retry_after adds HTTP Retry-After / gRPC RetryInfo; delay
holds each answer that long; partial_rejected (with no status) accepts the request but answers
partial success with that many rejected items. Failed requests are not recorded as accepted;
every request, failed or not, is listed in `attempts`.

It shares its server code with the otlp receiver (collector.otlp) and needs no pipeline engine.
"""
from __future__ import annotations

import collections
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, TextIO

from collector.otlp.grpc_server import GRPCServer, GRPCSettings
from collector.otlp.http_server import HTTPServer, HTTPSettings
from collector.otlp.json_codec import to_json
from collector.otlp.listen import ServerTLS
from collector.otlp.status import ExportFailure, PartialSuccess
from collector.pdata import count_items

SIGNALS = ("logs", "metrics", "traces")

__all__ = ["Sink"]


@dataclass
class _Failure:
    status: str | int | None
    remaining: int               # -1: until clear_failure
    retry_after: float | None
    delay: float
    partial_rejected: int
    error_message: str


class _Record:
    __slots__ = ("signal", "transport", "request", "peer", "json")

    def __init__(self, signal: str, transport: str, request, peer: str | None) -> None:
        self.signal, self.transport, self.request, self.peer = signal, transport, request, peer
        self.json: dict | None = None  # OTLP/JSON, made on first use (it costs more than parsing)

    def as_dict(self) -> dict:
        if self.json is None:
            self.json = to_json(self.signal, self.request)
        return {"signal": self.signal, "transport": self.transport, "request": self.json}


class Sink:
    """See the module docstring. Thread-safe; every method may be called from any thread."""

    def __init__(self, grpc: str | None = "127.0.0.1:0", http: str | None = "127.0.0.1:0",
                 out: str | TextIO | None = None, tls_cert: str | None = None,
                 tls_key: str | None = None, client_ca: str | None = None,
                 max_kept: int = 100_000, logger: logging.Logger | None = None) -> None:
        if bool(tls_cert) != bool(tls_key):
            raise ValueError("tls_cert and tls_key must be given together")
        if client_ca and not tls_cert:
            raise ValueError("client_ca needs tls_cert and tls_key")
        self._log = logger or logging.getLogger("collector.sink")
        tls = ServerTLS(cert_file=tls_cert, key_file=tls_key, client_ca_file=client_ca or "") if tls_cert else None
        self._grpc = GRPCServer(GRPCSettings(endpoint=grpc, tls=tls, workers=16,
                                             max_recv_msg_size=64 * 1024 * 1024),
                                self._handle, logger=self._log) if grpc else None
        self._http = HTTPServer(HTTPSettings(endpoint=http, tls=tls, max_request_body_size=64 * 1024 * 1024),
                                self._handle, logger=self._log) if http else None
        self._tls = tls is not None
        self._out_arg = out
        self._out: TextIO | None = None
        self._owns_out = False
        self._out_lock = threading.Lock()
        self._cond = threading.Condition()
        # Bounded: a long soak would otherwise grow without limit; counts stay exact.
        self._kept: collections.deque[_Record] = collections.deque(maxlen=max_kept)
        self._attempts: collections.deque[dict] = collections.deque(maxlen=max_kept)
        self._counts = dict.fromkeys(SIGNALS, 0)
        self._requests = dict.fromkeys(SIGNALS, 0)
        self.dropped_records = 0  # accepted records no longer kept in memory (max_kept)
        self._failure: _Failure | None = None
        self._stopping = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "Sink":
        if isinstance(self._out_arg, str):
            self._out = open(self._out_arg, "a", encoding="utf-8")
            self._owns_out = True
        else:
            self._out = self._out_arg
        try:
            if self._grpc:
                self._grpc.start()
            if self._http:
                self._http.start()
        except Exception:
            self.stop()
            raise
        return self

    def stop(self, grace: float = 0.5) -> None:
        self._stopping.set()
        if self._http:
            self._http.stop(grace)
        if self._grpc:
            self._grpc.stop(grace)
        with self._out_lock:
            if self._owns_out and self._out is not None:
                self._out.close()
            self._out = None
        with self._cond:
            self._cond.notify_all()

    def __enter__(self) -> "Sink":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def grpc_endpoint(self) -> str:
        """host:port for a gRPC exporter (plain or TLS, as started)."""
        if not self._grpc:
            raise RuntimeError("the sink serves no gRPC")
        return self._grpc.endpoint

    @property
    def http_endpoint(self) -> str:
        """Base URL for an HTTP exporter: append /v1/logs, /v1/metrics or /v1/traces."""
        if not self._http:
            raise RuntimeError("the sink serves no HTTP")
        return ("https://" if self._tls else "http://") + self._http.endpoint

    # -- what arrived ------------------------------------------------------------------------
    @property
    def records(self) -> list[dict]:
        """Accepted requests, oldest first: {"signal", "transport", "request": OTLP/JSON}."""
        with self._cond:
            kept = list(self._kept)
        return [r.as_dict() for r in kept]

    def messages(self, signal: str) -> list:
        """The accepted request messages of one signal. Treat them as read-only."""
        with self._cond:
            return [r.request for r in self._kept if r.signal == signal]

    def peers(self, signal: str) -> list:
        with self._cond:
            return [r.peer for r in self._kept if r.signal == signal]

    def count(self, signal: str) -> int:
        """Items received in accepted requests: log records, data points or spans (exact even
        beyond max_kept). Items of a request answered with partial success are included."""
        with self._cond:
            return self._counts[signal]

    def requests(self, signal: str) -> int:
        """Requests received for signal, failed ones included."""
        with self._cond:
            return self._requests[signal]

    @property
    def attempts(self) -> list[dict]:
        """Every request answered: {"signal", "transport", "status", "time"} (time.monotonic());
        status is "OK", "PARTIAL" or the failure's gRPC code / HTTP status as answered."""
        with self._cond:
            return list(self._attempts)

    def wait_for(self, predicate: Callable[["Sink"], bool], timeout: float = 10) -> bool:
        """Wait until predicate(sink) is true (re-checked on each request); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if predicate(self):
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or self._stopping.is_set():
                    return bool(predicate(self))
                self._cond.wait(min(left, 0.25))

    def clear(self) -> None:
        """Forget what was received so far (counts, records, attempts)."""
        with self._cond:
            self._kept.clear()
            self._attempts.clear()
            self._counts = dict.fromkeys(SIGNALS, 0)
            self._requests = dict.fromkeys(SIGNALS, 0)

    # -- scripted answers --------------------------------------------------------------------
    def set_failure(self, status: str | int | None = None, times: int = 1, retry_after: float | None = None,
                    delay: float = 0, partial_rejected: int = 0,
                    error_message: str = "scripted failure") -> None:
        """Script the answers to the next `times` requests (-1: until clear_failure); see the
        module docstring. Replaces any script still running."""
        if status is not None:
            ExportFailure.from_status(status)  # raises ValueError for a status that cannot be sent
        with self._cond:
            self._failure = _Failure(status, times, retry_after, float(delay), int(partial_rejected),
                                     error_message)

    def clear_failure(self) -> None:
        with self._cond:
            self._failure = None

    def _next_script(self) -> _Failure | None:
        f = self._failure
        if f is None or f.remaining == 0:
            return None
        if f.remaining > 0:
            f.remaining -= 1
        return f

    # -- the server handler ------------------------------------------------------------------
    def _handle(self, signal: str, request, transport: str, peer: str | None) -> PartialSuccess | None:
        with self._cond:
            self._requests[signal] += 1
            script = self._next_script()
        if script and script.delay > 0:
            self._stopping.wait(script.delay)
        failure = None
        if script and script.status is not None:
            failure = ExportFailure.from_status(script.status, script.error_message, script.retry_after)
            if failure.grpc_code == "OK":
                failure = None
        if failure is not None:
            self._attempt(signal, transport, failure.grpc_code if transport == "grpc" else failure.http_status)
            raise failure
        partial = None
        if script and script.partial_rejected:
            partial = PartialSuccess(script.partial_rejected, script.error_message)
        self._accept(signal, transport, request, peer)
        self._attempt(signal, transport, "PARTIAL" if partial else "OK")
        return partial

    def _attempt(self, signal: str, transport: str, status: Any) -> None:
        with self._cond:
            self._attempts.append({"signal": signal, "transport": transport, "status": status,
                                   "time": time.monotonic()})
            self._cond.notify_all()

    def _accept(self, signal: str, transport: str, request, peer: str | None) -> None:
        record = _Record(signal, transport, request, peer)
        n = count_items(signal, request)
        if self._out is not None:
            line = json.dumps(record.as_dict(), separators=(",", ":"))
            with self._out_lock:
                if self._out is not None:
                    try:
                        self._out.write(line + "\n")
                        self._out.flush()
                    except (OSError, ValueError):  # closed or full disk: keep serving
                        self._log.warning("cannot write sink output", exc_info=True)
        with self._cond:
            if len(self._kept) == self._kept.maxlen:
                self.dropped_records += 1
            self._kept.append(record)
            self._counts[signal] += n
            self._cond.notify_all()
