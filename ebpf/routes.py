"""http.route from a request path, as Beyla's `routes` section decides it.

Patterns use `{name}` or `:name` for one whole path segment (`/users/{id}`, `/files/:name`) and a
trailing `*` for any rest of the path (`/static/*`). As in Beyla's route matcher, a path is
walked segment by segment through a tree of the patterns: a literal segment wins over a
parameter whatever the order the patterns were given in (`/users/me` before `/users/{id}`), and
a trailing slash does not matter. A path no pattern matches gets, by `unmatched`: `unset` (no
http.route), `path` (the raw path: high cardinality), `wildcard` (`/**`) or `heuristic` (Beyla's
cluster-URL classifier: segments that look like ids become `*`).
"""
from __future__ import annotations

import functools
import re

from .config import RoutesConfig

# Beyla: Gin's :id, Gorilla's {id}; also {file-name}, {id:[0-9]+} and :id.json, which Beyla's
# `\w*` would take literally and so never match.
_PARAM = re.compile(r"^(?::.+|\{[^/{}]+\})$")
WILDCARD_ROUTE = "/**"
MAX_SEGMENTS = 10  # Beyla's classifier stops at the 10th `/`
_VALID = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_. ")
_VOWELS = frozenset("aeiouy")
_HEX_WORD = re.compile(r"^[0-9a-fA-F]{16,}$")


def _tokenize(path: str) -> list[str]:
    parts = path.split("/")
    if parts and parts[0] == "":
        parts = parts[1:]
    if parts and parts[-1] == "":
        parts = parts[:-1]
    return parts


class _Node:
    __slots__ = ("route", "child", "param", "any_path")

    def __init__(self) -> None:
        self.route = ""          # the pattern this node completes, if any
        self.child: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.any_path = False    # a `*` segment: matches whatever follows


class _Matcher:
    """Beyla's route.Matcher (pkg/transform/route): first the literal child, then `*`, then a
    parameter; no backtracking."""

    def __init__(self, patterns: list[str]) -> None:
        self.root = _Node()
        for pattern in patterns:
            node = self.root
            for tok in _tokenize(pattern):
                if _PARAM.match(tok):
                    node.param = node.param or _Node()
                    node = node.param
                elif tok == "*":
                    node.any_path = True
                    break
                else:
                    node = node.child.setdefault(tok, _Node())
            node.route = pattern

    def find(self, path: str) -> str:
        node = self.root
        for tok in _tokenize(path):
            nxt = node.child.get(tok)
            if nxt is not None:
                node = nxt
            elif node.any_path:
                return node.route
            elif node.param is not None:
                node = node.param
            else:
                return ""
        return node.route


def _looks_random(word: str) -> bool:
    """Stands in for the gibberish (Markov-chain) test Beyla runs on all-letter segments, whose
    model we do not ship: long runs of consonants, or long hex strings, are not words."""
    if _HEX_WORD.match(word):
        return True
    run = 0
    for c in word.lower():
        if c.isalpha() and c not in _VOWELS:
            run += 1
            if run >= 5:
                return True
        else:
            run = 0
    return False


@functools.lru_cache(maxsize=8192)  # per request otherwise; Beyla keeps an LRU of words too
def _keep_segment(seg: str) -> bool:
    """Beyla's classifier: a segment stays when all its characters are letters or `-_. `,
    with one grace for a non-letter second character (`v1`, `k8s`), and it reads as a word."""
    for i, c in enumerate(seg):
        if c not in _VALID and i != 1:
            return False
    return not _looks_random(seg)


def heuristic_route(path: str, wildcard: str = "*") -> str:
    """Beyla's ClusterURL: `/users/123/orders/8f14e45f` -> `/users/*/orders/*`. The query
    string is cut and at most MAX_SEGMENTS separators are kept."""
    for sep in "?&#":
        path = path.split(sep, 1)[0]
    segs = path.split("/")[:MAX_SEGMENTS]
    return "/".join(s if not s or _keep_segment(s) else wildcard for s in segs)


class RouteMatcher:
    def __init__(self, cfg: RoutesConfig) -> None:
        self.cfg = cfg
        self.patterns = _Matcher(cfg.patterns)
        self.ignored = _Matcher(cfg.ignored_patterns) if cfg.ignored_patterns else None

    def ignored_path(self, path: str) -> bool:
        """Whether the request is left out of the metrics (ignored_patterns, by ignore_mode)."""
        return (self.ignored is not None and self.cfg.ignores_metrics()
                and self.ignored.find(path) != "")

    def route(self, path: str) -> str | None:
        found = self.patterns.find(path) if self.cfg.patterns else ""
        if found:
            return found
        mode = self.cfg.unmatched
        if mode == "unset":
            return None
        if mode == "path":
            return path
        if mode == "heuristic":
            return heuristic_route(path, self.cfg.wildcard_char or "*")
        return WILDCARD_ROUTE
