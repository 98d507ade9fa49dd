"""Durations and byte sizes written as the collector writes them."""
from __future__ import annotations

import re
from typing import Any, NewType

Duration = NewType("Duration", float)   # seconds
ByteSize = NewType("ByteSize", int)     # bytes

_DUR_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DUR_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")

_SIZE_UNITS = {
    "": 1, "b": 1,
    "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "tb": 1000 ** 4,
    "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3, "tib": 1024 ** 4,
    "pb": 1000 ** 5, "pib": 1024 ** 5,  # stanza's helper.ByteSize goes up to peta
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


class Expanded:
    """A value that was one whole `${...}` reference (or a --set value): its YAML-typed value
    and the text it came from, as confmap's ExpandedValue. A string field takes the text (an API
    key `0123` or a version `1.10` stays as written); any other field takes the typed value."""

    __slots__ = ("value", "original")

    def __init__(self, value: Any, original: str) -> None:
        self.value = value
        self.original = original

    def __eq__(self, other) -> bool:
        return isinstance(other, Expanded) and (self.value, self.original) == (other.value, other.original)

    def __repr__(self) -> str:
        return f"Expanded({self.value!r}, {self.original!r})"


def plain(value: Any) -> Any:
    """The tree with every Expanded replaced by its typed value (for untyped consumers)."""
    if isinstance(value, Expanded):
        return value.value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def parse_duration(value) -> float:
    """Go's time.ParseDuration syntax ("200ms", "1m30s", "-1s"); a bare integer is nanoseconds,
    as in the collector's config decoding."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like '5s', got {value!r}")
    if isinstance(value, int):
        return value / 1e9
    if isinstance(value, float):
        raise ValueError(f"expected a duration like '5s', got {value!r}")
    if not isinstance(value, str):
        raise ValueError(f"expected a duration like '5s', got {type(value).__name__}")
    text = value.strip()
    sign = 1.0
    if text[:1] in "+-":
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    pos, total = 0, 0.0
    for m in _DUR_PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DUR_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise ValueError(f"invalid duration {value!r}: use a number with a unit, like 200ms, 5s or 1m")
    return sign * total


def parse_bytesize(value) -> int:
    """An int of bytes or a string like 1kb (1000), 1KiB (1024), 16MiB; case-insensitive."""
    if isinstance(value, bool):
        raise ValueError(f"expected a size like '1MiB', got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"size must not be negative, got {value}")
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str):
        m = _SIZE.match(value)
        if m and m.group(2).lower() in _SIZE_UNITS:
            return int(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])
    raise ValueError(f"invalid size {value!r}: use bytes or a unit like 1kb, 1KiB, 16MiB")


def format_duration(seconds: float) -> str:
    if seconds == 0:
        return "0s"
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    if seconds >= 1 and float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{seconds * 1000:g}ms"
