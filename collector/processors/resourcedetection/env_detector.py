"""env detector: OTEL_RESOURCE_ATTRIBUTES ("key1=value1,key2=value2"), as the collector's.

Values are URL query-unescaped (Go's url.QueryUnescape: %XX and "+" as space). One malformed
pair fails the detector as a whole, as upstream does, so a typo never yields half a resource.
"""
from __future__ import annotations

import re
from urllib.parse import unquote_plus

ENV_VAR = "OTEL_RESOURCE_ATTRIBUTES"
DEPRECATED_ENV_VAR = "OTEL_RESOURCE"

# A "%" not followed by two hex digits: Go's url.QueryUnescape rejects it (Python's unquote
# would keep it literally).
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def parse_resource_attributes(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    text = text.strip()
    if not text:
        return out
    pairs = text.split(",")
    if len(pairs) > 1 and not pairs[-1].strip():
        pairs.pop()  # "a=b," : upstream's pattern takes the comma as the pair's terminator
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"invalid resource format in attribute: {pair!r}")
        value = value.strip()
        if _BAD_ESCAPE.search(value):
            raise ValueError(f"invalid resource format in attribute: {pair!r}: invalid URL escape")
        out[key.strip()] = unquote_plus(value)
    return out


def detect(environ) -> dict[str, str]:
    labels = environ.get(ENV_VAR, "").strip() or environ.get(DEPRECATED_ENV_VAR, "").strip()
    return parse_resource_attributes(labels)
