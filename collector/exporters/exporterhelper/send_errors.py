"""What a transport reports about one export attempt, in the OTLP spec's terms.

Transports (gRPC, HTTP) classify their own failures; the retry loop only knows these types.
"""
from __future__ import annotations

from dataclasses import dataclass

# Short, searchable phrases the product guide tells users to grep for.
CONNECTION_REFUSED = "connection refused"
DEADLINE_EXCEEDED = "context deadline exceeded"


class SendError(Exception):
    """One failed attempt. `message` must never contain header values."""

    def __init__(self, message: str, *, problem: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # A connection-level problem ("connection refused", "context deadline exceeded",
        # "tls handshake failed"): logged with the endpoint, rate-limited.
        self.problem = problem


class RetryableSendError(SendError):
    """Retry later. `throttle` is the server's requested delay (RetryInfo / Retry-After)."""

    def __init__(self, message: str, *, throttle: float | None = None, problem: str | None = None) -> None:
        super().__init__(message, problem=problem)
        self.throttle = throttle


class PermanentSendError(SendError):
    """Never retry: the gateway will not accept this request as it is."""


@dataclass
class PartialSuccess:
    """The gateway accepted the request but rejected some items (not retried, per the spec)."""

    rejected: int
    message: str
