"""Hand-written protobuf encoding of one file's batch as an `ExportLogsServiceRequest`.

Why by hand: building one `LogRecord` message per line costs ~6 us in Python; writing the wire
bytes directly costs about a third of that, and the result is parsed once by upb (C) into the
request message the pipeline carries. Tests check every byte against the protobuf parser.

Wire layout (opentelemetry-proto logs/v1):
  ExportLogsServiceRequest{1: ResourceLogs{1: Resource{1: KeyValue*}, 2: ScopeLogs{2: LogRecord*}}}
  LogRecord{1: fixed64 time_unix_nano, 11: fixed64 observed_time_unix_nano,
            5: AnyValue body{1: string}, 6: KeyValue attributes*}
  KeyValue{1: string key, 2: AnyValue value}
"""
from __future__ import annotations

import struct

PACK_TIME = struct.Struct("<BQ").pack  # tag 0x09 (field 1, fixed64) + value
_OBSERVED_TAG = 0x59                    # field 11, fixed64

TABLE_SIZE = 1 << 14


def varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_VARINT = [varint(i) for i in range(TABLE_SIZE)]
# b"\x12" + varint(n): the LogRecord tag inside ScopeLogs (field 2, length-delimited).
RECORD_HEAD = [b"\x12" + v for v in _VARINT]


def body_head(n: int) -> bytes:
    """Tag and lengths of `body: AnyValue{string_value}` for a message of n bytes."""
    inner = 1 + len(varint(n)) + n
    return b"\x2a" + varint(inner) + b"\x0a" + varint(n)


BODY_HEAD = [body_head(i) for i in range(TABLE_SIZE)]


def _field(tag: int, payload: bytes) -> bytes:
    return bytes((tag,)) + varint(len(payload)) + payload


def string_value(s: str | bytes) -> bytes:
    """AnyValue{string_value}."""
    b = s.encode("utf-8", "replace") if isinstance(s, str) else s
    return _field(0x0A, b)


def key_value(key: str, value: str | bytes) -> bytes:
    return _field(0x0A, key.encode("utf-8")) + _field(0x12, string_value(value))


def attributes(pairs) -> bytes:
    """Repeated `attributes` (field 6) entries of a LogRecord."""
    return b"".join(_field(0x32, key_value(k, v)) for k, v in pairs)


def resource_head(pairs) -> bytes:
    """`resource` (field 1) of a ResourceLogs: Resource{attributes (field 1)*}."""
    res = b"".join(_field(0x0A, key_value(k, v)) for k, v in pairs)
    return _field(0x0A, res) if res else b""


class RecordWriter:
    """Accumulates encoded LogRecords of one file's batch; `request()` wraps them.

    `attrs` are pre-encoded attribute bytes (see attributes()); callers cache them per
    (stream, logtag), so a record costs a handful of list appends.
    """

    __slots__ = ("parts", "count", "size", "observed", "_resource")

    def __init__(self, resource: bytes, observed_ns: int) -> None:
        self.parts: list[bytes] = [b""]  # slot 0 receives the request/resource/scope header
        self.count = 0
        self.size = 0
        self.observed = bytes((_OBSERVED_TAG,)) + struct.pack("<Q", observed_ns)
        self._resource = resource

    def add(self, time_ns: int, body: bytes, attrs: bytes) -> None:
        n = len(body)
        head = BODY_HEAD[n] if n < TABLE_SIZE else body_head(n)
        rec_len = 18 + len(head) + n + len(attrs)
        tag = RECORD_HEAD[rec_len] if rec_len < TABLE_SIZE else b"\x12" + varint(rec_len)
        self.parts.extend((tag, PACK_TIME(9, time_ns), self.observed, head, body, attrs))
        self.size += len(tag) + rec_len
        self.count += 1

    def request(self) -> bytes:
        """Serialized ExportLogsServiceRequest holding one ResourceLogs with one ScopeLogs."""
        scope_len = self.size
        rl_len = len(self._resource) + 1 + len(varint(scope_len)) + scope_len
        self.parts[0] = b"".join((b"\x0a", varint(rl_len), self._resource, b"\x12", varint(scope_len)))
        return b"".join(self.parts)
