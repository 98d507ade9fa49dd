"""OTLP export responses: reading the partial-success part that both transports return."""
from __future__ import annotations

from collector.otlp.services import SERVICES

from .send_errors import PartialSuccess

_REJECTED_JSON = {"logs": "rejectedLogRecords", "metrics": "rejectedDataPoints", "traces": "rejectedSpans"}


def parse_partial_success(signal: str, response: bytes | None) -> PartialSuccess | None:
    """From a protobuf response body; None when everything was accepted."""
    if not response:
        return None
    try:
        msg = SERVICES[signal].response_type.FromString(response)
    except Exception:
        return None  # accepted is accepted; an unreadable body only loses the partial detail
    if not msg.HasField("partial_success"):
        return None
    ps = msg.partial_success
    return _make(getattr(ps, SERVICES[signal].rejected_field), ps.error_message)


def parse_partial_success_json(signal: str, doc) -> PartialSuccess | None:
    """From an OTLP/JSON response (int64 may come as a string; snake_case is tolerated)."""
    if not isinstance(doc, dict):
        return None
    ps = doc.get("partialSuccess", doc.get("partial_success"))
    if not isinstance(ps, dict):
        return None
    raw = ps.get(_REJECTED_JSON[signal], ps.get(SERVICES[signal].rejected_field, 0))
    try:
        rejected = int(raw or 0)
    except (TypeError, ValueError):
        rejected = 0
    message = ps.get("errorMessage", ps.get("error_message", "")) or ""
    return _make(rejected, str(message))


def _make(rejected: int, message: str) -> PartialSuccess | None:
    if rejected == 0 and not message:
        return None
    return PartialSuccess(rejected, message)
