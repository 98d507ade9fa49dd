"""Name filters with the collector's filterset semantics (`match_type: strict | regexp`).

strict is exact string equality; regexp is Go's regexp.MatchString, i.e. an *unanchored*
search ("^lo$" to pin a whole name), which is why this uses re.search and not re.match.
"""
from __future__ import annotations

import re


class FilterSet:
    def __init__(self, items: list[str], match_type: str) -> None:
        if match_type == "strict":
            self._strict = frozenset(items)
            self._patterns: list[re.Pattern] = []
        elif match_type == "regexp":
            self._strict = frozenset()
            self._patterns = [re.compile(p) for p in items]
        else:
            raise ValueError(f"unrecognized match_type: {match_type!r}, valid types are: "
                             "[regexp strict]")
        self.match_type = match_type

    def matches(self, name: str) -> bool:
        if self.match_type == "strict":
            return name in self._strict
        return any(p.search(name) for p in self._patterns)


def build(items: list[str], match_type: str) -> FilterSet | None:
    """None when the list is empty: an absent filter lets everything through."""
    return FilterSet(items, match_type) if items else None


def include_exclude(name: str, include: FilterSet | None, exclude: FilterSet | None) -> bool:
    return (include is None or include.matches(name)) and (exclude is None or not exclude.matches(name))
