"""env detector: OTEL_RESOURCE_ATTRIBUTES ("key1=value1,key2=value2"), as the collector's.

Values are URL query-unescaped (Go's url.QueryUnescape: %XX and "+" as space). One malformed
pair fails the detector as a whole, as upstream does, so a typo never yields half a resource.
"""
from __future__ import annotations

from urllib.parse import unquote_plus

ENV_VAR = "OTEL_RESOURCE_ATTRIBUTES"
DEPRECATED_ENV_VAR = "OTEL_RESOURCE"


def parse_resource_attributes(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    text = text.strip()
    if not text:
        return out
    for pair in text.split(","):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"invalid resource format in attribute: {pair!r}")
        out[key.strip()] = unquote_plus(value.strip())
    return out


def detect(environ) -> dict[str, str]:
    labels = environ.get(ENV_VAR, "").strip() or environ.get(DEPRECATED_ENV_VAR, "").strip()
    return parse_resource_attributes(labels)
