"""Export outcomes and how they map between gRPC status codes and HTTP status codes.

A server handler (see collector.otlp.server) answers an export in one of three ways:

- returns None: everything accepted (gRPC OK / HTTP 200, empty response message);
- returns PartialSuccess(rejected, error_message): accepted, with the partial_success field set;
- raises ExportFailure(grpc_code, http_status, message, retry_after): rejected.

The two tables below are the OpenTelemetry Collector's (otlpreceiver/internal/errors and
pdata's status helpers), which follow the OTLP specification's "Failures" sections:
a retryable gRPC code becomes 503, RESOURCE_EXHAUSTED 429, INVALID_ARGUMENT 400; the reverse
direction uses gRPC's http-grpc-status-mapping with 400 and 429 as the spec's exceptions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

# gRPC code names and numbers (grpc.StatusCode without importing grpc in config-time code).
GRPC_CODES = {
    "OK": 0, "CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5, "ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9, "ABORTED": 10, "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12,
    "INTERNAL": 13, "UNAVAILABLE": 14, "DATA_LOSS": 15, "UNAUTHENTICATED": 16,
}

_RETRYABLE_GRPC = ("CANCELLED", "DEADLINE_EXCEEDED", "ABORTED", "OUT_OF_RANGE", "UNAVAILABLE", "DATA_LOSS")


def http_status_for(grpc_code: str) -> int:
    """HTTP status an OTLP/HTTP server answers for a failure that has this gRPC code."""
    if grpc_code in _RETRYABLE_GRPC:
        return 503
    return {
        "OK": 200,
        "RESOURCE_EXHAUSTED": 429,
        "INVALID_ARGUMENT": 400,
        "UNAUTHENTICATED": 401,
        "PERMISSION_DENIED": 403,
        "UNIMPLEMENTED": 404,
    }.get(grpc_code, 500)


def grpc_code_for(http_status: int) -> str:
    """gRPC code an OTLP/gRPC server answers for a failure that has this HTTP status."""
    if 200 <= http_status < 300:
        return "OK"
    return {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "UNIMPLEMENTED",
        413: "RESOURCE_EXHAUSTED",
        429: "RESOURCE_EXHAUSTED",
        502: "UNAVAILABLE",
        503: "UNAVAILABLE",
        504: "UNAVAILABLE",
    }.get(http_status, "UNKNOWN")


@dataclass(frozen=True)
class PartialSuccess:
    """The export was accepted but `rejected` items were dropped by the server."""

    rejected: int
    error_message: str = ""


class ExportFailure(Exception):
    """A rejected export. Carries both encodings so one handler serves gRPC and HTTP alike.

    retry_after (seconds) becomes the HTTP Retry-After header and a gRPC google.rpc.RetryInfo
    detail, which is how OTLP servers ask clients to back off (the spec's "throttling").
    """

    def __init__(self, grpc_code: str, http_status: int, message: str = "",
                 retry_after: float | None = None) -> None:
        super().__init__(message or grpc_code)
        if grpc_code not in GRPC_CODES:
            raise ValueError(f"unknown gRPC status code {grpc_code!r}")
        self.grpc_code = grpc_code
        self.http_status = http_status
        self.message = message or grpc_code
        self.retry_after = retry_after

    @classmethod
    def from_status(cls, status: str | int, message: str = "",
                    retry_after: float | None = None) -> "ExportFailure":
        """From a gRPC code name ("UNAVAILABLE") or an HTTP status (503); the other side is
        derived with the tables above."""
        if isinstance(status, bool):
            raise ValueError(f"invalid status {status!r}")
        if isinstance(status, int) or (isinstance(status, str) and status.strip().isdigit()):
            code = int(status)
            if not 100 <= code <= 599:
                raise ValueError(f"HTTP status out of range: {code}")
            return cls(grpc_code_for(code), code, message, retry_after)
        name = str(status).strip().upper()
        if name not in GRPC_CODES:
            raise ValueError(f"unknown status {status!r}: use a gRPC code name or an HTTP status")
        return cls(name, http_status_for(name), message, retry_after)

    def retry_after_header(self) -> str | None:
        """Retry-After takes whole seconds: round up so the client never retries too early."""
        if self.retry_after is None:
            return None
        return str(max(0, math.ceil(self.retry_after)))

    def __repr__(self) -> str:
        return (f"ExportFailure({self.grpc_code}, {self.http_status}, {self.message!r}, "
                f"retry_after={self.retry_after})")
