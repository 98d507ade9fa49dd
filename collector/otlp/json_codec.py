"""OTLP/JSON <-> OTLP protobuf export requests.

OTLP/JSON is the proto3 JSON mapping with the exceptions the OTLP specification makes
(https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):

- trace and span ids are hex strings (either case on input, lower case on output), not base64;
- 64-bit integers are decimal strings on output; numbers or strings are accepted on input;
- enums are integers (names are accepted on input, as protobuf's parser allows);
- keys are lowerCamelCase on output; lowerCamel and the original snake_case are accepted;
- unknown fields are ignored on input (the specification requires it).

protobuf's json_format does the mapping; this module only rewrites the id fields, which it
would otherwise treat as base64 `bytes`. The id fields sit at fixed places in the message tree,
so the rewrite follows those paths instead of walking every value.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Callable

from google.protobuf import json_format

from collector.pdata import REQUEST_TYPES

# Where the id fields are, per signal: nested {camelKey: subtree}; the "@ids" entry lists the id
# fields of that level with their length in bytes.
_SPAN_IDS = {"traceId": 16, "spanId": 8}
_ID_TREE: dict[str, dict] = {
    "traces": {"resourceSpans": {"scopeSpans": {"spans": {
        "@ids": {**_SPAN_IDS, "parentSpanId": 8},
        "links": {"@ids": _SPAN_IDS},
    }}}},
    "logs": {"resourceLogs": {"scopeLogs": {"logRecords": {"@ids": _SPAN_IDS}}}},
    "metrics": {"resourceMetrics": {"scopeMetrics": {"metrics": {
        kind: {"dataPoints": {"exemplars": {"@ids": _SPAN_IDS}}}
        for kind in ("gauge", "sum", "histogram", "exponentialHistogram")
    }}}},
}


class JSONDecodeError(ValueError):
    """The JSON document is not a valid OTLP/JSON export request."""


def _keys(camel: str, aliases: bool) -> tuple[str, ...]:
    """The key itself, plus its original snake_case name when that differs and is wanted."""
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
    return (camel, snake) if aliases and snake != camel else (camel,)


def _rewrite(node: Any, tree: dict, convert: Callable[[str, Any, int], Any], aliases: bool) -> Any:
    """Copy of node with the id fields under tree converted; other values are shared, not copied.

    Values of an unexpected type are left alone: json_format reports them with a precise message.
    """
    if not isinstance(node, dict):
        return node
    out = dict(node)
    for camel, sub in tree.items():
        if camel == "@ids":
            for id_key, size in sub.items():
                for key in _keys(id_key, aliases):
                    if key in out:
                        out[key] = convert(key, out[key], size)
            continue
        for key in _keys(camel, aliases):
            value = out.get(key)
            if isinstance(value, list):
                out[key] = [_rewrite(v, sub, convert, aliases) for v in value]
            elif isinstance(value, dict):
                out[key] = _rewrite(value, sub, convert, aliases)
    return out


def _hex_to_b64(key: str, value: Any, size: int) -> Any:
    if value is None:
        return value
    if not isinstance(value, str):
        raise JSONDecodeError(f"{key}: expected a hex string, got {type(value).__name__}")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise JSONDecodeError(f"{key}: invalid hex id {value[:64]!r}") from None
    if raw and len(raw) != size:
        raise JSONDecodeError(f"{key}: expected {size * 2} hex digits, got {len(value)}")
    return base64.b64encode(raw).decode("ascii")


def _b64_to_hex(key: str, value: Any, size: int) -> Any:
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, TypeError, ValueError):  # json_format always gives base64; be safe
        return value


def from_json(signal: str, obj: Any):
    """Build the export request of signal from a parsed OTLP/JSON document.

    Raises JSONDecodeError (a ValueError) when obj is not a valid request.
    """
    if not isinstance(obj, dict):
        raise JSONDecodeError(f"expected a JSON object, got {type(obj).__name__}")
    fixed = _rewrite(obj, _ID_TREE[signal], _hex_to_b64, aliases=True)
    request = REQUEST_TYPES[signal]()
    try:
        json_format.ParseDict(fixed, request, ignore_unknown_fields=True)
    except json_format.ParseError as e:
        raise JSONDecodeError(str(e)) from None
    except (TypeError, ValueError, AttributeError, OverflowError) as e:
        # json_format lets some type mismatches through as plain Python errors.
        raise JSONDecodeError(f"invalid OTLP/JSON: {e}") from None
    return request


def to_json(signal: str, request) -> dict:
    """The OTLP/JSON document (a dict ready for json.dumps) of an export request."""
    obj = json_format.MessageToDict(request, use_integers_for_enums=True)
    return _rewrite(obj, _ID_TREE[signal], _b64_to_hex, aliases=False)


def parse_json_bytes(signal: str, body: bytes):
    """from_json of a raw HTTP body (UTF-8, -16 or -32, as json.loads detects)."""
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise JSONDecodeError(f"invalid JSON: {e}") from None
    try:
        return from_json(signal, obj)
    except RecursionError:
        raise JSONDecodeError("invalid OTLP/JSON: nested too deeply") from None
