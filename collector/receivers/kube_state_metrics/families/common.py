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

    # A "*" resource applies to every resource and, as in KSM, takes precedence over the others.
    def labels_for(self, resource: str) -> list[str] | None:
        return _for(self.labels_allowlist, resource)

    def annotations_for(self, resource: str) -> list[str] | None:
        return _for(self.annotations_allowlist, resource)


def _for(allowlist: dict, resource: str):
    return allowlist["*"] if "*" in allowlist else allowlist.get(resource)


_INVALID = re.compile(r"[^a-zA-Z0-9_]")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
# KSM's --metric-labels-allowlist partial wildcards: at most this many "*" in one entry.
_MAX_PARTIAL_WILDCARDS = 3


def sanitize(key: str) -> str:
    return _INVALID.sub("_", key)


def label_key(prefix: str, key: str) -> str:
    """KSM's labelName: prefix_ + the key sanitized then snake_cased ("appName" -> app_name)."""
    return prefix + _CAMEL.sub(r"\1_\2", sanitize(key)).lower()


def _matches(pattern: str, key: str) -> bool:
    if pattern.count("*") > _MAX_PARTIAL_WILDCARDS:
        return False  # KSM ignores over-wildcarded entries rather than truncating them
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), key) is not None


def allowed(mapping: dict | None, allow: list[str] | None, prefix: str) -> tuple:
    """KSM's createPrometheusLabelKeysValues: the allowlisted keys ("*" first = all, "app*" a
    partial wildcard) that the object has, sorted by key, as prefixed snake_case label names.
    Keys that collide once sanitized become <name>_conflict1, _conflict2... (KSM's
    mapToPrometheusLabels)."""
    if not mapping or not allow:
        return ()
    if allow[0] == "*":
        keys = sorted(mapping)
    else:
        keys = sorted(k for k in mapping
                      if any(a != "*" and (k == a if "*" not in a else _matches(a, k)) for a in allow))
    names: list[str] = []
    used: dict[str, int] = {}
    conflicts: dict[str, int] = {}

    def free(base: str, count: int) -> tuple[str, int]:
        while True:
            count += 1
            if f"{base}_conflict{count}" not in used:
                return f"{base}_conflict{count}", count

    for k in keys:
        base = name = label_key(prefix, k)
        if base in conflicts:
            name, conflicts[base] = free(base, conflicts[base])
        elif name in used:  # first clash: the one already emitted becomes _conflict1
            idx = used.pop(name)
            renamed, count = free(base, 0)
            names[idx] = renamed
            used[renamed] = idx
            name, conflicts[base] = free(base, count)
        used[name] = len(names)
        names.append(name)
    return tuple(zip(names, (str(mapping[k]) for k in keys)))


def labels_rows(fam: str, base: tuple, meta: dict, allow: list[str] | None) -> list:
    """kube_<resource>_labels: one series only when the resource has an allowlist (KSM v2.10+
    emits none without one)."""
    if not allow:
        return []
    return [Row(fam, base + allowed(meta.get("labels"), allow, "label_"), 1.0)]


def annotations_rows(fam: str, base: tuple, meta: dict, allow: list[str] | None) -> list:
    if not allow:
        return []
    return [Row(fam, base + allowed(meta.get("annotations"), allow, "annotation_"), 1.0)]


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


def resource_unit(resource: str) -> str | None:
    """The unit label KSM gives a requests/limits/capacity/allocatable resource, or None for
    the resources it does not expose: cpu core; memory, storage, ephemeral-storage, hugepages-*
    and attachable-volumes-* byte; pods and extended resources (vendor.example/gpu) integer."""
    if resource == "cpu":
        return "core"
    if resource in ("memory", "ephemeral-storage", "storage") or resource.startswith("hugepages-") \
            or resource.startswith("attachable-volumes-"):
        return "byte"
    if resource == "pods" or _extended(resource):
        return "integer"
    return None


_QUALIFIED = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                        r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def _extended(resource: str) -> bool:
    """v1helper.IsExtendedResourceName: a domain-prefixed name outside kubernetes.io."""
    if "/" not in resource or "kubernetes.io/" in resource or resource.startswith("requests."):
        return False
    prefix, _, name = ("requests." + resource).rpartition("/")
    return len(name) <= 63 and len(prefix) <= 253 and _QUALIFIED.match("requests." + resource) is not None


def quantity_value(resource: str, q, milli: bool = False) -> float | None:
    """A quantity as KSM reads it: MilliValue()/1000 for cpu (and for every node resource,
    milli=True), Value() (rounded up) otherwise."""
    try:
        if resource == "cpu" or milli:
            return quantity.milli_value(q) / 1000.0
        return float(quantity.value(q))
    except ValueError:
        return None


def owner_rows(name: str, base: tuple, meta: dict) -> list[Row]:
    owners = [o for o in meta.get("ownerReferences") or [] if isinstance(o, dict)]
    if not owners:  # KSM v2.13+: empty values (it wrote "<none>" before)
        return [Row(name, base + (("owner_kind", ""), ("owner_name", ""), ("owner_is_controller", "")), 1.0)]
    return [Row(name, base + (("owner_kind", str(o.get("kind", ""))), ("owner_name", str(o.get("name", ""))),
                              ("owner_is_controller", "true" if o.get("controller") else "false")), 1.0)
            for o in owners]


def controller_of(meta: dict) -> dict:
    """metav1.GetControllerOf: the owner reference with controller: true, else {}."""
    return next((o for o in meta.get("ownerReferences") or [] if isinstance(o, dict) and o.get("controller")), {})


def meta_of(obj: dict) -> dict:
    return obj.get("metadata") or {}
