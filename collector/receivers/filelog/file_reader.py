"""Tailing one file: read complete lines from an offset, through an open handle.

The handle stays open while the file is tracked, so a file renamed or deleted while open is
still read to its end. Offsets are file byte positions:

    committed <= emitted <= offset
    committed: every record before it was acknowledged (what a checkpoint stores)
    emitted:   everything before it was handed to the pipeline (offset - len(leftover))
    offset:    next byte to read from disk

In-flight batches are tracked here in read order, so the committed offset only advances over
a prefix of acknowledged batches; an unacknowledged batch holds back everything after it.
"""
from __future__ import annotations

import os
from collections import deque

from .container import PartialJoiner


class Batch:
    """One batch handed to the pipeline: the file offset it ends at and its delivery state."""

    __slots__ = ("end", "size", "acked", "records", "released")

    def __init__(self, end: int, size: int, records: int) -> None:
        self.end = end
        self.size = size
        self.records = records
        self.acked = False
        self.released = False  # its bytes were taken off the in-flight total


class FileReader:
    def __init__(self, path: str, fd: int, fp: bytes, offset: int, *, max_log_size: int,
                 join_limit: int, now: float) -> None:
        self.path = path
        self.fd = fd
        self.fp = fp
        self.ino = os.fstat(fd).st_ino
        self.offset = offset          # next byte to read
        self.committed = offset       # acknowledged prefix (checkpoint)
        self.stored_key: str | None = None  # checkpoint key last written (fingerprint may grow)
        self.leftover = b""           # read but not yet a complete line
        self.max_log_size = max_log_size
        self.joiner = PartialJoiner(join_limit)
        self.inflight: deque[Batch] = deque()
        self.generation = 0           # bumped on rewind/truncation: stale acks are ignored
        self.last_growth = now        # last time new bytes were read
        self.lost = False             # no longer matched by any path: read to EOF, then close
        self.detached = False         # truncated under us: handle closed, waiting for a copy
        self.detached_polls = 0
        self.resource = b""           # encoded Resource of every batch of this file
        self.file_attrs = b""         # encoded per-record attributes (log.file.name, ...)
        self.resume_at = 0.0          # backoff after a failed delivery
        self.attr_cache: dict = {}

    @property
    def emitted(self) -> int:
        return self.offset - len(self.leftover)

    def close(self) -> None:
        if self.fd >= 0:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = -1

    def detach(self) -> None:
        """The file was truncated: what we have not read yet only survives in a copy
        (copytruncate). Stop reading this handle; the tracker revives us on the copy."""
        self.close()
        self.detached = True
        self.detached_polls = 0

    def truncated(self) -> bool:
        """The file is now shorter than what we read: it was truncated (copytruncate, `>`)."""
        try:
            return os.fstat(self.fd).st_size < self.offset
        except OSError:
            return False

    def restart_from(self, offset: int) -> None:
        """Forget unacknowledged work and read again from offset (rewind or truncation)."""
        self.generation += 1
        self.inflight.clear()
        self.offset = offset
        self.committed = min(self.committed, offset)
        self.leftover = b""
        self.joiner.reset()

    def read_lines(self, max_bytes: int, now: float, force_flush_period: float):
        """Next complete lines: (lines, end_offset, last_unterminated), or None when none.

        A line longer than max_log_size is cut into pieces of max_log_size bytes (split,
        never dropped). A last line without newline is returned after it stopped growing for
        force_flush_period. Leading NUL bytes at the start of the file (a writer kept its offset
        across a truncation and left a hole) are skipped.
        """
        try:
            data = os.pread(self.fd, max_bytes, self.offset)
        except OSError:
            data = b""
        if not data:
            # force_flush_period 0 waits for the newline forever, as in the collector.
            if self.leftover and force_flush_period > 0 and now - self.last_growth >= force_flush_period:
                line, self.leftover = self.leftover, b""
                return [line], self.offset, True
            return None
        self.offset += len(data)
        self.last_growth = now
        buf = self.leftover + data if self.leftover else data
        if not self.leftover and buf[:1] == b"\x00":
            # At a line start: a NUL run is a hole left by a writer that kept its offset
            # across a truncation (or a preallocated file), not log data.
            buf = buf.lstrip(b"\x00")
        cut = buf.rfind(b"\n")
        limit = self.max_log_size
        if cut < 0:
            if len(buf) >= limit:
                self.leftover = buf[limit:]
                return [buf[:limit]], self.offset - len(self.leftover), True
            self.leftover = buf
            return None
        self.leftover = buf[cut + 1:]
        lines = buf[:cut].split(b"\n")
        if cut > limit:
            lines = _split_long(lines, limit)
        return lines, self.offset - len(self.leftover), False

    # Delivery tracking -----------------------------------------------------------------------
    def add_batch(self, end: int, size: int, records: int) -> Batch:
        b = Batch(end, size, records)
        self.inflight.append(b)
        return b

    def advance_committed(self) -> bool:
        """Move committed over the acknowledged prefix of in-flight batches; True if it moved."""
        moved = False
        q = self.inflight
        while q and q[0].acked:
            self.committed = q.popleft().end
            moved = True
        return moved


def _split_long(lines: list[bytes], limit: int) -> list[bytes]:
    out: list[bytes] = []
    for line in lines:
        if len(line) <= limit:
            out.append(line)
        else:
            out.extend(line[i:i + limit] for i in range(0, len(line), limit))
    return out
