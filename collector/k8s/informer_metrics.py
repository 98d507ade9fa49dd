"""What an informer counts: plain counters on the informer (tests and the benchmark read them),
mirrored into self-metrics families shared by every informer of one component."""

from __future__ import annotations

import threading
import weakref
from typing import Any

# telemetry object -> {metric name: metric}; several informers of one component share families.
_METRICS: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()
_METRICS_LOCK = threading.Lock()


class InformerStats:
    """Always kept, whether or not the component has telemetry."""

    def __init__(self) -> None:
        self.lists = 0            # list requests (pages)
        self.relists = 0          # full relists after the first (410 or list failure)
        self.watches = 0          # watch requests
        self.events = 0           # ADDED/MODIFIED/DELETED applied
        self.bookmarks = 0
        self.errors = 0           # failed requests and broken streams
        self.bad_events = 0       # undecodable lines or events without metadata, skipped
        self.callback_errors = 0


def metric_families(telemetry) -> dict | None:
    """The informer families of this component's telemetry, registered on first use."""
    if telemetry is None:
        return None
    with _METRICS_LOCK:
        try:
            families = _METRICS.get(telemetry)
        except TypeError:  # unhashable/unweakrefable telemetry: keep no cache, register once
            families = None
        if families is None:
            families = {
                "requests": telemetry.counter("skuber_k8s_informer_requests_total",
                                              "List and watch requests sent to the API server",
                                              ("resource", "verb")),
                "events": telemetry.counter("skuber_k8s_informer_events_total",
                                            "Watch events applied to the cache, BOOKMARK included",
                                            ("resource", "type")),
                "errors": telemetry.counter("skuber_k8s_informer_errors_total",
                                            "Failed list/watch requests, broken streams, bad events",
                                            ("resource", "reason")),
                "relists": telemetry.counter("skuber_k8s_informer_relists_total",
                                             "Full relists after the first list", ("resource",)),
            }
            try:
                _METRICS[telemetry] = families
            except TypeError:
                pass
        return families
