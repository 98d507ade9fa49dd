"""Reading an OTLP/HTTP request body: Content-Length or chunked, gzip/deflate, size limits.

The limit (max_request_body_size) is checked before reading and again while inflating, so a
small compressed body that expands past it (a "zip bomb") is refused with 413 as well.
A body is never read past the limit: the connection is closed instead.
"""
from __future__ import annotations

import zlib


class BadRequest(Exception):
    """Answered without calling the handler: HTTP status, reason label (self-metrics), message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """Body without its Content-Encoding, refusing more than `limit` bytes of output."""
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif encoding in ("deflate", "zlib"):
        wbits = zlib.MAX_WBITS  # HTTP "deflate" is the zlib format; confighttp also reads "zlib"
    else:
        raise BadRequest(400, "encoding", f"unsupported Content-Encoding: {encoding}")
    out = bytearray()
    data = body
    try:
        while data:  # gzip allows several members back to back (Go's reader reads them all)
            d = zlib.decompressobj(wbits)
            out += d.decompress(data, limit + 1 - len(out))
            if len(out) > limit:
                raise BadRequest(413, "too_large", f"decompressed body larger than {limit} bytes")
            if not d.eof:
                raise BadRequest(400, "decode", f"truncated {encoding} body")
            data = d.unused_data if wbits > zlib.MAX_WBITS else b""
    except zlib.error as e:
        raise BadRequest(400, "decode", f"invalid {encoding} body: {e}") from None
    return bytes(out)


def read_chunked(rfile, limit: int) -> bytes:
    body = bytearray()
    for _ in range(1_000_000):  # bounded: a body of a million empty-ish chunks is abuse
        line = rfile.readline(1026)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadRequest(400, "decode", "invalid chunked encoding") from None
        if size < 0:
            raise BadRequest(400, "decode", "invalid chunked encoding")
        if size == 0:
            for _ in range(100):  # trailers, up to the empty line
                if rfile.readline(8192) in (b"\r\n", b"\n", b""):
                    break
            return bytes(body)
        if len(body) + size > limit:
            raise BadRequest(413, "too_large", f"request body larger than {limit} bytes")
        chunk = rfile.read(size)
        if len(chunk) < size:
            raise BadRequest(400, "decode", "truncated chunked body")
        body += chunk
        rfile.readline(3)
    raise BadRequest(400, "decode", "too many chunks")


def read_body(h, limit: int, encodings=None) -> bytes:
    """The request body of handler h, decoded from its Content-Encoding and at most `limit` bytes.

    `encodings` (confighttp's compression_algorithms) limits the Content-Encodings accepted;
    None accepts every one this module decodes. Sets h.close_connection where the rest of a
    refused body is still unread on the wire."""
    encoding = (h.headers.get("Content-Encoding") or "").strip().lower()
    if encodings is not None:
        name = {"identity": "", "x-gzip": "gzip"}.get(encoding, encoding)
        if name not in encodings:
            h.close_connection = True
            raise BadRequest(400, "encoding", f"unsupported Content-Encoding: {encoding}")
    if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
        try:
            body = read_chunked(h.rfile, limit)
        except BadRequest:
            h.close_connection = True  # the rest of the body is still on the wire
            raise
    else:
        text = h.headers.get("Content-Length")
        try:
            length = int(text) if text is not None else 0
            if length < 0:
                raise ValueError(text)
        except ValueError:
            h.close_connection = True
            raise BadRequest(400, "decode", f"invalid Content-Length: {text!r}") from None
        if length > limit:
            h.close_connection = True  # not reading a body that large: close instead
            raise BadRequest(413, "too_large", f"request body of {length} bytes is larger than {limit}")
        body = h.rfile.read(length)
        if len(body) < length:
            h.close_connection = True
            raise BadRequest(400, "decode", "request body ended early")
    return decompress(body, encoding, limit)
