"""File identity by fingerprint: the first `fingerprint_size` bytes of a file, not its name.

As in the collector's fileconsumer, a file that grew keeps its identity: an old fingerprint
shorter than `fingerprint_size` is a prefix of the new one. Names change on rotation, inodes are
reused after deletion; the first bytes of a log file (timestamps) do not.
"""
from __future__ import annotations

import hashlib
import os

# Magic numbers of compressed files: rotated logs are often compressed in place.
_COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x28\xb5\x2f\xfd", b"PK\x03\x04", b"\x04\x22\x4d\x18")


def read_fingerprint(fd: int, size: int) -> bytes:
    """The first `size` bytes (fewer when the file is shorter); b"" for an empty file."""
    return os.pread(fd, size, 0)


def is_compressed(fp: bytes) -> bool:
    return fp.startswith(_COMPRESSED_MAGIC)


def same_file(known: bytes, current: bytes) -> bool:
    """current (read now) belongs to the file fingerprinted as known earlier."""
    return bool(known) and current.startswith(known)


def may_be_copy_of(known: bytes, current: bytes) -> bool:
    """current is a prefix of known: a copy still being written, or too short to tell."""
    return bool(current) and known.startswith(current)


def storage_key(fp: bytes) -> str:
    """Checkpoint key in file_storage: one per file fingerprint."""
    return "fp." + hashlib.sha256(fp).hexdigest()[:32]
