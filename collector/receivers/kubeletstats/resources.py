"""Container requests/limits (from the kubelet's /pods) and node capacity, for the optional
*_utilization metrics."""

from __future__ import annotations

import re

_BINARY = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}
_DECIMAL = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$")


def quantity(text) -> float | None:
    """A Kubernetes quantity ("500m", "256Mi", "4") as a float; None when absent or malformed."""
    if isinstance(text, bool) or text is None:
        return None
    if isinstance(text, (int, float)):
        return float(text)
    m = _QUANTITY.match(str(text).strip())
    if not m:
        return None
    value = float(m.group(1))
    if m.group(2):
        return value * 10 ** int(m.group(2))
    suffix = m.group(3) or ""
    return value * (_BINARY.get(suffix) or _DECIMAL[suffix])


class PodResources:
    """Per container (cpu cores, memory bytes) requests and limits; pod totals are None when any
    container lacks the value (upstream does not emit the pod ratio then)."""

    def __init__(self) -> None:
        self.containers: dict[str, dict[str, float | None]] = {}

    def total(self, key: str) -> float | None:
        values = [c.get(key) for c in self.containers.values()]
        if not values or any(v is None or v <= 0 for v in values):
            return None
        return sum(values)


def pod_resources(pods: dict) -> dict[str, PodResources]:
    """pod uid -> PodResources, from a PodList."""
    out: dict[str, PodResources] = {}
    for pod in (pods or {}).get("items") or []:
        if not isinstance(pod, dict):
            continue
        res = PodResources()
        for c in (pod.get("spec") or {}).get("containers") or []:
            if not isinstance(c, dict):
                continue
            r = c.get("resources") or {}
            req, lim = r.get("requests") or {}, r.get("limits") or {}
            res.containers[c.get("name", "")] = {
                "cpu_request": quantity(req.get("cpu")), "cpu_limit": quantity(lim.get("cpu")),
                "memory_request": quantity(req.get("memory")), "memory_limit": quantity(lim.get("memory")),
            }
        out[(pod.get("metadata") or {}).get("uid", "")] = res
    return out
