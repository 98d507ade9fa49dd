"""The hot path: raw lines of one file -> encoded log records of one batch.

One pass per line: split, parse the container format, encode the record bytes. No per-line
objects beyond the byte slices the split makes. Attribute bytes are cached per file and
(stream, logtag), the resource once per file.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import otlp_encoding as enc
from .config import ContainerOperator
from .container import (FORMAT_CONTAINERD, FORMAT_DOCKER, MAX_TIME_NS, STDERR, STDOUT,
                        PartialJoiner, _second_cache, _seconds, parse_docker_line, parse_time)
from .otlp_encoding import RecordWriter


@dataclass
class LineStats:
    """Per-batch counts the receiver adds to its self-metrics."""
    parse_errors: int = 0
    invalid_utf8: int = 0
    dropped: int = 0


def _valid_utf8(b: bytes) -> bytes | None:
    try:
        b.decode("utf-8")
        return None
    except UnicodeDecodeError:
        return b.decode("utf-8", "replace").encode("utf-8")


def _cri_attrs(cache: dict, stream: bytes, tag: bytes, file_attrs: bytes) -> bytes:
    key = (stream, tag)
    a = cache.get(key)
    if a is None:
        tag_text = tag.decode("utf-8", "replace")
        a = enc.attributes((("log.iostream", stream), ("logtag", tag_text))) + file_attrs
        if len(cache) < 64:  # tags are F/P in practice; a garbage tag must not grow the cache
            cache[key] = a
    return a


_WS = b"\r\n\t "   # what fileconsumer's trim strips (pkg/stanza/trim)
_WS_FIRST = frozenset(_WS)


def encode_lines(lines: list[bytes], writer: RecordWriter, *, op: ContainerOperator | None,
                 joiner: PartialJoiner, attr_cache: dict, file_attrs: bytes, codec: str,
                 last_unterminated: bool, stats: LineStats,
                 trim: tuple[bool, bool] = (True, True)) -> None:
    """Parse and encode lines into writer. Partial CRI lines stay in joiner (their raw byte
    count in joiner.raw_bytes) until their `F` line arrives.

    `trim` (leading, trailing): strip "\r\n\t " from each line, as fileconsumer does unless
    preserve_leading/trailing_whitespaces is set. One deliberate difference: the message of a
    CRI partial (`P`) line keeps its trailing blanks. The runtime split one message there, and
    the collector, trimming the line before recombining, glues the words on either side of
    such a split together."""
    add = writer.add
    transcode = codec != "utf-8"
    lead, trail = trim
    if op is None:
        both = lead and trail  # the default: one strip() call, this is the hot path
        for line in lines:
            if both:
                line = line.strip(_WS)
            elif trail:
                line = line.rstrip(_WS)
            elif lead and line and line[0] in _WS_FIRST:
                line = line.lstrip(_WS)
            if transcode:
                line = _transcode(line, codec, stats)
            elif not line.isascii():
                fixed = _valid_utf8(line)
                if fixed is not None:
                    stats.invalid_utf8 += 1
                    line = fixed
            add(0, line, file_attrs)
        return
    fmt_fixed = op.format
    drop_errors = op.on_error.startswith("drop")
    accept_docker = fmt_fixed in ("", FORMAT_DOCKER)
    accept_cri = fmt_fixed != FORMAT_DOCKER
    # The record encoding of RecordWriter.add, inlined: this loop runs once per line.
    extend = writer.parts.extend
    observed = writer.observed
    body_heads = enc.BODY_HEAD
    record_heads = enc.RECORD_HEAD
    table = enc.TABLE_SIZE
    pack_time = enc.PACK_TIME
    sec_cache = _second_cache
    max_time = MAX_TIME_NS
    size = 0
    count = 0
    last_line = lines[-1] if lines else None
    for raw in lines:
        line = raw
        if lead and line and line[0] in _WS_FIRST:
            line = line.lstrip(_WS)
        if transcode:
            line = _transcode(line, codec, stats)
        if line[:1] == b"{":
            if accept_docker:
                parsed = parse_docker_line(line)
                if parsed is not None:
                    t, stream, body = parsed
                    key = (b"docker", stream)
                    a = attr_cache.get(key)
                    if a is None:
                        a = enc.attributes((("log.iostream", stream),)) + file_attrs
                        if len(attr_cache) < 64:
                            attr_cache[key] = a
                    add(t, body, a)
                    continue
        elif accept_cri:
            parts = line.split(b" ", 3)
            if len(parts) >= 3 and (parts[1] == STDOUT or parts[1] == STDERR):
                ts = parts[0]
                t = -1
                # containerd's fixed form inline; everything else through parse_time.
                if len(ts) == 30 and ts[29] == 90 and ts[19] == 46:
                    sec = sec_cache.get(ts[:19])
                    try:
                        if sec is None:
                            sec = _seconds(ts[:19])
                        t = sec * 1_000_000_000 + int(ts[20:29])
                    except ValueError:
                        t = -1
                if t < 0:
                    try:
                        t = parse_time(ts)
                    except ValueError:
                        t = -1
                if 0 <= t < max_time and (not fmt_fixed or (fmt_fixed == FORMAT_CONTAINERD) == ts.endswith(b"Z")):
                    msg = parts[3] if len(parts) == 4 else b""
                    tag = parts[2]
                    if trail:
                        if len(parts) == 3:
                            tag = tag.rstrip(_WS)  # `<time> <stream> F\r`: no message
                        if tag != b"P":
                            msg = msg.rstrip(_WS)
                    if not transcode and not msg.isascii():
                        fixed = _valid_utf8(msg)
                        if fixed is not None:
                            stats.invalid_utf8 += 1
                            msg = fixed
                    stream = parts[1]
                    # A joined line keeps the first part's time, stream and logtag `P`, as the
                    # collector's recombine (overwrite_with: oldest) does.
                    if tag == b"P":
                        # File bytes of this line: the raw line (not trimmed or transcoded) + "\n".
                        raw_len = len(raw) + (0 if (last_unterminated and raw is last_line) else 1)
                        if not joiner.parts:
                            joiner.stream = stream
                            joiner.time_ns = t
                        t, stream = joiner.time_ns, joiner.stream
                        msg = joiner.add_partial(msg, raw_len)
                        if msg is None:
                            continue
                    elif joiner.parts:
                        t, stream, tag = joiner.time_ns, joiner.stream, b"P"
                        msg = joiner.finish(msg)
                    a = attr_cache.get((stream, tag))
                    if a is None:
                        a = _cri_attrs(attr_cache, stream, tag, file_attrs)
                    n = len(msg)
                    head = body_heads[n] if n < table else enc.body_head(n)
                    rec_len = 18 + len(head) + n + len(a)
                    rh = record_heads[rec_len] if rec_len < table else b"\x12" + enc.varint(rec_len)
                    extend((rh, pack_time(9, t), observed, head, msg, a))
                    size += len(rh) + rec_len
                    count += 1
                    continue
        # Not a container log line: sent with its raw text (or dropped when on_error says so).
        stats.parse_errors += 1
        if drop_errors:
            stats.dropped += 1
            continue
        body = line.lstrip(b"\x00")
        if trail:
            body = body.rstrip(_WS)
        if not body.isascii() and not transcode:
            fixed = _valid_utf8(body)
            if fixed is not None:
                stats.invalid_utf8 += 1
                body = fixed
        add(0, body, file_attrs)
    writer.size += size
    writer.count += count


def flush_partial(writer: RecordWriter, joiner: PartialJoiner, attr_cache: dict, file_attrs: bytes) -> None:
    """Send a pending partial sequence whose `F` never came (container died mid-line)."""
    if joiner.parts:
        stream, t = joiner.stream, joiner.time_ns
        writer.add(t, joiner.take(), _cri_attrs(attr_cache, stream, b"P", file_attrs))


def _transcode(line: bytes, codec: str, stats: LineStats) -> bytes:
    try:
        return line.decode(codec).encode("utf-8")
    except UnicodeDecodeError:
        stats.invalid_utf8 += 1
        return line.decode(codec, "replace").encode("utf-8")

