"""CORS for OTLP/HTTP, as the collector's confighttp does it (with the rs/cors library):
browsers (the OpenTelemetry JS SDK) send a preflight OPTIONS before a cross-origin POST.

Only origins matching allowed_origins ("*", exact, or one "*" wildcard such as
"https://*.example.com") get the Access-Control-* headers; credentials are allowed, as in
confighttp. Without allowed_origins no CORS header is ever sent.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

# rs/cors always allows these request headers; confighttp adds the configured ones.
_BASE_HEADERS = ("accept", "content-type", "x-requested-with", "origin")
_METHODS = "POST"


@dataclass(frozen=True)
class CORSPolicy:
    allowed_origins: tuple[str, ...] = ()
    allowed_headers: tuple[str, ...] = ()
    max_age: int = 0   # seconds a browser may cache the preflight answer; 0 = not sent
    _headers: frozenset = field(default=frozenset(), compare=False)
    exposed_headers: tuple[str, ...] = ()  # response headers a page's script may read

    @classmethod
    def build(cls, allowed_origins=(), allowed_headers=(), max_age: int = 0,
              exposed_headers=()) -> "CORSPolicy":
        headers = frozenset(h.lower() for h in (*_BASE_HEADERS, *allowed_headers))
        return cls(tuple(allowed_origins), tuple(allowed_headers), int(max_age or 0), headers,
                   tuple(exposed_headers))

    def origin_allowed(self, origin: str | None) -> bool:
        if not origin:
            return False
        for pattern in self.allowed_origins:
            if pattern == "*" or pattern.lower() == origin.lower():
                return True
            if pattern.count("*") == 1 and fnmatch.fnmatchcase(origin.lower(), pattern.lower()):
                return True
        return False

    def actual_headers(self, origin: str | None) -> list[tuple[str, str]]:
        """Headers added to the answer of a real (non-preflight) request."""
        if not self.origin_allowed(origin):
            return [("Vary", "Origin")] if self.allowed_origins else []
        headers = [("Vary", "Origin"), ("Access-Control-Allow-Origin", origin),
                   ("Access-Control-Allow-Credentials", "true")]
        if self.exposed_headers:
            headers.append(("Access-Control-Expose-Headers", ", ".join(self.exposed_headers)))
        return headers

    def preflight(self, origin: str | None, method: str | None, request_headers: str | None):
        """(status, headers) for an OPTIONS preflight; headers are empty when it is refused."""
        vary = [("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")]
        if not self.origin_allowed(origin) or (method or "").upper() != _METHODS:
            return 204, vary
        asked = [h.strip().lower() for h in (request_headers or "").split(",") if h.strip()]
        if any(h not in self._headers and "*" not in self.allowed_headers for h in asked):
            return 204, vary
        headers = vary + [("Access-Control-Allow-Origin", origin),
                          ("Access-Control-Allow-Methods", _METHODS),
                          ("Access-Control-Allow-Credentials", "true")]
        if asked:
            headers.append(("Access-Control-Allow-Headers", ", ".join(asked)))
        if self.max_age > 0:
            headers.append(("Access-Control-Max-Age", str(self.max_age)))
        return 204, headers
