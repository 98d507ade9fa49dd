"""What the gRPC and HTTP servers share: the handler contract and bad-request accounting.

A handler is `handle(signal, request, transport, peer) -> PartialSuccess | None`:
- signal: "logs" | "metrics" | "traces"; request: the parsed Export*ServiceRequest (owned by
  the handler from then on); transport: "grpc" | "http"; peer: the client's IP or None.
- return None to accept everything, PartialSuccess to accept with rejected items;
- raise collector.otlp.status.ExportFailure to reject with a chosen status.
Any other exception is a bug in the handler: it is logged and answered like a non-permanent
consumer error in the collector (gRPC UNAVAILABLE / HTTP 503), so the server keeps serving.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable, Optional

from .status import ExportFailure, PartialSuccess

Handler = Callable[[str, object, str, Optional[str]], Optional[PartialSuccess]]


def call_handler(handle: Handler, signal: str, request, transport: str, peer: str | None,
                 log: logging.Logger) -> PartialSuccess | None:
    try:
        return handle(signal, request, transport, peer)
    except ExportFailure:
        raise
    except Exception as e:
        log.exception("OTLP %s %s handler failed", transport, signal)
        raise ExportFailure("UNAVAILABLE", 503, f"internal error: {type(e).__name__}") from None


class BadRequestCounter:
    """Requests answered without reaching the handler, by transport and reason
    (decode, too_large, media_type, encoding, path, method, tls, stopping).

    `on_bad` lets the owner mirror the counts into self-metrics."""

    def __init__(self, on_bad: Callable[[str, str], None] | None = None) -> None:
        self._lock = threading.Lock()
        self.counts: dict[tuple[str, str], int] = {}
        self._on_bad = on_bad

    def inc(self, transport: str, reason: str) -> None:
        with self._lock:
            key = (transport, reason)
            self.counts[key] = self.counts.get(key, 0) + 1
        if self._on_bad is not None:
            try:
                self._on_bad(transport, reason)
            except Exception:  # self-metrics must never break serving
                logging.getLogger("collector.otlp").exception("bad-request hook failed")

    def get(self, transport: str, reason: str) -> int:
        with self._lock:
            return self.counts.get((transport, reason), 0)
