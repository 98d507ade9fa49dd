"""http.route from a request path, as Beyla's `routes` section decides it.

Patterns use `{name}` or `:name` for one path segment (`/users/{id}`, `/files/:name`). A path no
pattern matches gets, by `unmatched`: `unset` (no http.route), `path` (the raw path: high
cardinality), `wildcard` (`/**`) or `heuristic` (segments that look like ids become `*`).
"""
from __future__ import annotations

import re

from .config import RoutesConfig

_SEGMENT_PARAM = re.compile(r"\{[^/{}]+\}|:[^/]+")
_ID_LIKE = re.compile(r"^(?:\d+|[0-9a-fA-F-]{16,}|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27})$|\d.*\d")


def _compile(pattern: str) -> re.Pattern:
    out, pos = [], 0
    for m in _SEGMENT_PARAM.finditer(pattern):
        out.append(re.escape(pattern[pos:m.start()]))
        out.append(r"[^/]+")
        pos = m.end()
    out.append(re.escape(pattern[pos:]))
    return re.compile("^" + "".join(out).rstrip("/") + "/?$")


class RouteMatcher:
    def __init__(self, cfg: RoutesConfig) -> None:
        self.cfg = cfg
        self.patterns = [(p, _compile(p)) for p in cfg.patterns]
        self.ignored = [_compile(p) for p in cfg.ignored_patterns]

    def ignored_path(self, path: str) -> bool:
        return any(r.match(path) for r in self.ignored)

    def route(self, path: str) -> str | None:
        for pattern, regex in self.patterns:
            if regex.match(path):
                return pattern
        mode = self.cfg.unmatched
        if mode == "unset":
            return None
        if mode == "path":
            return path
        if mode == "heuristic":
            w = self.cfg.wildcard_char or "*"
            return "/".join(w if seg and _ID_LIKE.search(seg) else seg for seg in path.split("/")) or "/"
        return "/**"
