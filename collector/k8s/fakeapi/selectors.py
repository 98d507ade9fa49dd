"""Label and field selectors as the Kubernetes API server parses them.

Label selectors: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`, comma-joined.
Field selectors: `path=value`, `path==value`, `path!=value`, comma-joined, where path is a dotted
field path into the object (`metadata.name`, `spec.nodeName`, `status.phase`, `involvedObject.kind`).
"""

from __future__ import annotations

import re
from typing import Callable

Predicate = Callable[[dict], bool]


class SelectorError(ValueError):
    """The selector string cannot be parsed (the API server answers 400 BadRequest)."""


def _split_terms(text: str) -> list[str]:
    # Commas inside `in (a,b)` sets do not separate terms.
    terms, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    tail = "".join(current).strip()
    if tail:
        terms.append(tail)
    return [t for t in terms if t]


_SET_TERM = re.compile(r"^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$")
_EQ_TERM = re.compile(r"^([^\s!=]+)\s*(==|=|!=)\s*(.*)$")


def parse_label_selector(text: str | None) -> Predicate:
    """Returns a predicate over a whole object (reads metadata.labels)."""
    if not text:
        return lambda obj: True
    checks: list[Callable[[dict], bool]] = []
    for term in _split_terms(text):
        m = _SET_TERM.match(term)
        if m:
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            if op == "in":
                checks.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                checks.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
            continue
        m = _EQ_TERM.match(term)
        if m:
            key, op, value = m.group(1), m.group(2), m.group(3).strip()
            if op == "!=":
                checks.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                checks.append(lambda labels, k=key, v=value: k in labels and labels[k] == v)
            continue
        if term.startswith("!") and re.fullmatch(r"![^\s!=(),]+", term):
            checks.append(lambda labels, k=term[1:]: k not in labels)
            continue
        if re.fullmatch(r"[^\s!=(),]+", term):
            checks.append(lambda labels, k=term: k in labels)
            continue
        raise SelectorError(f"unable to parse requirement: {term!r}")

    def predicate(obj: dict) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(check(labels) for check in checks)

    return predicate


def field_value(obj: dict, path: str) -> str:
    """The string form of a dotted field path; missing fields read as the empty string, as the
    API server compares them."""
    node = obj
    for part in path.split("."):
        if not isinstance(node, dict):
            return ""
        node = node.get(part)
        if node is None:
            return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def parse_field_selector(text: str | None) -> Predicate:
    if not text:
        return lambda obj: True
    checks: list[Callable[[dict], bool]] = []
    for term in _split_terms(text):
        m = _EQ_TERM.match(term)
        if not m:
            raise SelectorError(f"invalid field selector term: {term!r}")
        path, op, value = m.group(1), m.group(2), m.group(3).strip()
        if op == "!=":
            checks.append(lambda obj, p=path, v=value: field_value(obj, p) != v)
        else:
            checks.append(lambda obj, p=path, v=value: field_value(obj, p) == v)
    return lambda obj: all(check(obj) for check in checks)
