"""HTTP/1.x message heads from the first bytes of a socket buffer (what http_exchange.c captures).

A capture may hold several messages (pipelined requests, or responses read together); we walk
them while each one's head and Content-Length body fit in the capture. A truncated head still
yields its message (method/status come first); parsing never raises on bad input.
"""
from __future__ import annotations

import dataclasses

METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE"})
MAX_MESSAGES = 16  # per capture; bounds the walk on adversarial input


@dataclasses.dataclass
class Request:
    method: str
    path: str
    content_length: int | None = None


@dataclasses.dataclass
class Response:
    status: int
    content_length: int | None = None


def _headers(block: bytes) -> tuple[int | None, bool]:
    """(Content-Length, chunked) from a header block."""
    length, chunked = None, False
    for line in block.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        name = name.strip().lower()
        if name == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                length = None
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    return length, chunked


def _walk(data: bytes, parse_start):
    out = []
    pos = 0
    while pos < len(data) and len(out) < MAX_MESSAGES:
        line_end = data.find(b"\r\n", pos)
        first = data[pos:line_end if line_end >= 0 else len(data)]
        msg = parse_start(first)
        if msg is None:
            break
        out.append(msg)
        if line_end < 0:
            break
        head_end = data.find(b"\r\n\r\n", line_end)
        block = data[line_end + 2:head_end if head_end >= 0 else len(data)]
        length, chunked = _headers(block)
        msg.content_length = length
        if head_end < 0 or chunked:
            break  # the rest of this message is beyond the capture (or of unknown size)
        pos = head_end + 4 + (length or 0)
    return out


def _request_line(line: bytes) -> Request | None:
    parts = line.split(b" ")
    if len(parts) < 2:
        return None
    try:
        method = parts[0].decode("ascii")
    except UnicodeDecodeError:
        return None
    if method not in METHODS:
        return None
    if len(parts) >= 3 and not parts[2].startswith(b"HTTP/1."):
        return None
    target = parts[1].decode("utf-8", "replace")
    return Request(method, target.split("?", 1)[0].split("#", 1)[0] or "/")


def _status_line(line: bytes) -> Response | None:
    if not line.startswith(b"HTTP/1."):
        return None
    parts = line.split(b" ", 2)
    if len(parts) < 2 or len(parts[1]) != 3 or not parts[1].isdigit():
        return None
    return Response(int(parts[1]))


def parse_requests(data: bytes) -> list[Request]:
    return _walk(data, _request_line)


def parse_responses(data: bytes) -> list[Response]:
    return _walk(data, _status_line)
