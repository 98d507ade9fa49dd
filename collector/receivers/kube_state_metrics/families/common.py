"""Shared pieces of the KSM family builders: the family registry (HELP, TYPE), label helpers
(labels/annotations allowlists, condition triples), timestamps and quantities."""
from __future__ import annotations

import datetime
import math
import re
from typing import NamedTuple

from collector.receivers.k8s_cluster import quantity


class Row(NamedTuple):
    family: str
    labels: tuple  # ((name, value), ...) in KSM's order
    value: float


# family -> (help, "gauge" | "counter"); filled by the resource modules with family().
FAMILIES: dict[str, tuple[str, str]] = {}


def family(name: str, help_: str, type_: str = "gauge") -> str:
    FAMILIES[name] = (help_, type_)
    return name


class Context:
    """Per-receiver settings the builders need: the labels/annotations allowlists by resource."""

    def __init__(self, labels_allowlist: dict | None = None, annotations_allowlist: dict | None = None):
        self.labels_allowlist = labels_allowlist or {}
        self.annotations_allowlist = annotations_allowlist or {}


_INVALID = re.compile(r"[^a-zA-Z0-9_]")


def sanitize(key: str) -> str:
    return _INVALID.sub("_", key)


def allowed(mapping: dict | None, allow: list[str] | None, prefix: str) -> tuple:
    """KSM's kube_<resource>_labels pairs: only allowlisted keys ("*" = all), sorted, sanitized
    and prefixed (label_ / annotation_)."""
    if not mapping or not allow:
        return ()
    keys = sorted(mapping) if "*" in allow else sorted(k for k in mapping if k in allow)
    return tuple((prefix + sanitize(k), str(mapping[k])) for k in keys)


def ts(text) -> float | None:
    """RFC 3339 -> unix seconds; None when absent or unreadable."""
    if not text or not isinstance(text, str):
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def num(v) -> float | None:
    """A numeric field's value; None when absent or not a finite number (Kubernetes' are ints)."""
    if v is None or isinstance(v, bool):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError, OverflowError):
        return None
    return x if math.isfinite(x) else None


def bool_value(v) -> float:
    return 1.0 if v else 0.0


CONDITION_STATUSES = (("true", "True"), ("false", "False"), ("unknown", "Unknown"))


def condition_rows(name: str, base: tuple, conditions) -> list[Row]:
    """One series per (condition, status) with 1 for the current status, as KSM does."""
    out = []
    for c in conditions or []:
        if not isinstance(c, dict) or not c.get("type"):
            continue
        for label, status in CONDITION_STATUSES:
            out.append(Row(name, base + (("condition", str(c["type"])), ("status", label)),
                           1.0 if c.get("status") == status else 0.0))
    return out


def resource_unit(resource: str) -> tuple[str, bool]:
    """(unit label, is cpu) as KSM labels requests/limits/capacity/allocatable."""
    if resource == "cpu":
        return "core", True
    if resource in ("memory", "ephemeral-storage", "storage") or resource.startswith("hugepages-"):
        return "byte", False
    return "integer", False


def quantity_value(resource: str, q) -> float | None:
    try:
        if resource == "cpu":
            return quantity.milli_value(q) / 1000.0
        return float(quantity.value(q))
    except ValueError:
        return None


def owner_rows(name: str, base: tuple, meta: dict) -> list[Row]:
    owners = [o for o in meta.get("ownerReferences") or [] if isinstance(o, dict)]
    if not owners:
        return [Row(name, base + (("owner_kind", "<none>"), ("owner_name", "<none>"),
                                  ("owner_is_controller", "<none>")), 1.0)]
    return [Row(name, base + (("owner_kind", str(o.get("kind", ""))), ("owner_name", str(o.get("name", ""))),
                              ("owner_is_controller", "true" if o.get("controller") else "false")), 1.0)
            for o in owners]


def meta_of(obj: dict) -> dict:
    return obj.get("metadata") or {}
