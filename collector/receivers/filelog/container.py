"""Container runtime log line formats: Docker json-file, CRI-O and containerd.

Matches the `container` operator of otelcol-contrib (pkg/stanza/operator/parser/container):
- Docker json-file: `{"log":"...","stream":"stdout","time":"2024-03-30T08:31:20.545192187Z"}`;
  body is the `log` value as written (docker keeps the trailing newline), attribute `log.iostream`.
- CRI (`<time> <stream> <logtag> <log>`): containerd writes UTC times ending in `Z`, CRI-O writes
  RFC 3339 with a numeric offset. Attributes `log.iostream` and `logtag`. `P` (partial) lines are
  joined with the following ones up to the final `F` line, per file (`PartialJoiner`).
The `time` attribute is removed (the collector's `removeOriginalTimeField` gate, beta and on).

Everything works on bytes: the reader hands lines as bytes and the encoder writes bytes, so the
hot path never builds a str for a CRI line.
"""
from __future__ import annotations

import calendar
import json
import re

FORMAT_DOCKER = "docker"
FORMAT_CRIO = "crio"
FORMAT_CONTAINERD = "containerd"
FORMATS = (FORMAT_DOCKER, FORMAT_CRIO, FORMAT_CONTAINERD)

STDOUT = b"stdout"
STDERR = b"stderr"

# RFC 3339 with an optional fraction and either Z or a numeric offset.
_RFC3339 = re.compile(
    rb"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?(Z|z|[+-]\d{2}:?\d{2})$")

# Seconds since the epoch of a `YYYY-MM-DDTHH:MM:SS` prefix. A node's logs share few distinct
# seconds at a time, so the cache stays small; it is cleared when it grows past a bound.
_second_cache: dict[bytes, int] = {}
_SECOND_CACHE_MAX = 4096


def _seconds(prefix: bytes) -> int:
    s = _second_cache.get(prefix)
    if s is None:
        m = _RFC3339.match(prefix + b"Z")
        if m is None:
            raise ValueError("bad timestamp")
        y, mo, d, h, mi, se = (int(g) for g in m.groups()[:6])
        if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and se < 61):
            raise ValueError("bad timestamp")
        s = calendar.timegm((y, mo, d, h, mi, se, 0, 0, 0))
        if len(_second_cache) >= _SECOND_CACHE_MAX:
            _second_cache.clear()
        _second_cache[prefix] = s
    return s


def parse_time(ts: bytes) -> int:
    """RFC 3339 timestamp -> Unix nanoseconds, exact to the nanosecond. Raises ValueError,
    also for times OTLP cannot hold (before 1970, after 2554)."""
    # Fast path: containerd's fixed 9-digit UTC form, `2023-06-22T10:27:25.813799277Z`.
    if len(ts) == 30 and ts[29] == 90 and ts[19] == 46:
        frac = ts[20:29]
        if frac.isdigit():
            return _in_range(_seconds(ts[:19]) * 1_000_000_000 + int(frac))
    m = _RFC3339.match(ts)
    if m is None:
        raise ValueError(f"bad timestamp {ts[:40]!r}")
    secs = _seconds(ts[:19].replace(b"t", b"T").replace(b" ", b"T"))
    frac = m.group(7) or b""
    ns = int(frac.ljust(9, b"0")) if frac else 0
    tz = m.group(8)
    if tz not in (b"Z", b"z"):
        sign = 1 if tz[:1] == b"+" else -1
        digits = tz[1:].replace(b":", b"")
        secs -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return _in_range(secs * 1_000_000_000 + ns)


MAX_TIME_NS = 1 << 64  # OTLP's time_unix_nano is a fixed64


def _in_range(ns: int) -> int:
    if not 0 <= ns < MAX_TIME_NS:
        raise ValueError("timestamp outside the range of OTLP times")
    return ns


def detect_format(line: bytes) -> str | None:
    """The format of one raw line, as the operator's auto-detection does (docker, crio,
    containerd), or None when it is none of them."""
    if line[:1] == b"{":
        return FORMAT_DOCKER
    parts = line.split(b" ", 2)
    if len(parts) < 3 or parts[1] not in (STDOUT, STDERR) or not parts[0]:
        return None
    return FORMAT_CONTAINERD if parts[0].endswith(b"Z") else FORMAT_CRIO


def parse_cri_line(line: bytes):
    """`<time> <stream> <logtag> <log>` -> (time_unix_nano, stream, logtag, log) or None.

    Like the operator's regexp, the space before the log is optional, so an empty message
    (`... stdout F`) parses with an empty body.
    """
    parts = line.split(b" ", 3)
    n = len(parts)
    if n < 3:
        return None
    stream = parts[1]
    if stream != STDOUT and stream != STDERR:
        return None
    try:
        t = parse_time(parts[0])
    except ValueError:
        return None
    return t, stream, parts[2], parts[3] if n == 4 else b""


def parse_docker_line(line: bytes):
    """Docker json-file line -> (time_unix_nano, stream, log: bytes) or None.

    json.loads takes care of every escape (\\u00e9, \\", surrogate pairs); the body is re-encoded
    to UTF-8. A lone surrogate (invalid Unicode in the JSON) is replaced, never a crash.
    """
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(obj, dict):
        return None
    log = obj.get("log")
    if not isinstance(log, str):
        return None
    stream = obj.get("stream", "stdout")
    t = 0
    ts = obj.get("time")
    if isinstance(ts, str):
        try:
            t = parse_time(ts.encode("ascii", "replace"))
        except ValueError:
            return None
    try:
        body = log.encode("utf-8")
    except UnicodeEncodeError:
        body = log.encode("utf-8", "replace")
    return t, str(stream).encode("utf-8", "replace"), body


class PartialJoiner:
    """Joins CRI `P` lines with the following ones up to the `F` line, for one file.

    Bounded by max_size bytes: once the joined message reaches it, it is flushed as one record
    (as the collector's recombine does with max_log_size) and joining starts over.
    `raw_bytes` is how many file bytes the pending parts span, so the reader never commits an
    offset inside a pending sequence: a restart re-reads the whole sequence.
    """

    __slots__ = ("max_size", "parts", "size", "raw_bytes", "stream", "time_ns")

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size if max_size > 0 else 1 << 62
        self.parts: list[bytes] = []
        self.size = 0
        self.raw_bytes = 0
        self.stream = STDOUT   # of the first part: the joined record keeps its stream
        self.time_ns = 0       # of the first part (recombine's overwrite_with: oldest)

    def add_partial(self, msg: bytes, raw_len: int) -> bytes | None:
        """Add a `P` part; returns the joined message when the size bound forces a flush."""
        self.parts.append(msg)
        self.size += len(msg)
        self.raw_bytes += raw_len
        if self.size >= self.max_size:
            return self.take()
        return None

    def finish(self, msg: bytes) -> bytes:
        """The `F` part: returns the whole message."""
        if not self.parts:
            return msg
        self.parts.append(msg)
        return self.take()

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts = []
        self.size = 0
        self.raw_bytes = 0
        return out

    def reset(self) -> None:
        self.parts = []
        self.size = 0
        self.raw_bytes = 0

    @property
    def pending(self) -> bool:
        return bool(self.parts)
