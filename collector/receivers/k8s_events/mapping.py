"""A core/v1 Event (API JSON) -> one OTLP LogRecord, as otelcol-contrib's k8seventsreceiver
builds it (k8s_event_to_logdata.go)."""
from __future__ import annotations

import datetime

from opentelemetry.proto.logs.v1 import logs_pb2

from collector.receivers.k8s_cluster.metric_builder import set_attrs

SCOPE_NAME = "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/k8seventsreceiver"

# Kubernetes has Normal and Warning; events.k8s.io allows more, the collector maps these too.
SEVERITY = {"normal": logs_pb2.SEVERITY_NUMBER_INFO, "warning": logs_pb2.SEVERITY_NUMBER_WARN,
            "error": logs_pb2.SEVERITY_NUMBER_ERROR, "critical": logs_pb2.SEVERITY_NUMBER_FATAL}


def parse_time(text) -> datetime.datetime | None:
    """RFC 3339 (with or without fraction) as an aware datetime, UTC when the text has no
    offset; None for null/empty/unparseable."""
    if not text or not isinstance(text, str):
        return None
    try:
        t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    # A naive time could not be compared with the receiver's start time.
    return t if t.tzinfo is not None else t.replace(tzinfo=datetime.timezone.utc)


def event_time(ev: dict) -> datetime.datetime | None:
    """GetEventTimestamp: eventTime, else lastTimestamp, else firstTimestamp."""
    for key in ("eventTime", "lastTimestamp", "firstTimestamp"):
        t = parse_time(ev.get(key))
        if t is not None:
            return t
    return None


def go_time_string(text) -> str:
    """metav1.Time.String() of the creation timestamp: "2024-05-01 10:00:00 +0000 UTC"."""
    t = parse_time(text)
    if t is None:
        return "0001-01-01 00:00:00 +0000 UTC"
    t = t.astimezone(datetime.timezone.utc)
    frac = f".{t.microsecond:06d}".rstrip("0") if t.microsecond else ""
    return t.strftime("%Y-%m-%d %H:%M:%S") + frac + " +0000 UTC"


def append_event(request, ev: dict, version: str = "") -> None:
    """Append one ResourceLogs (resource = the involved object) with the event's LogRecord."""
    involved = ev.get("involvedObject") or {}
    source = ev.get("source") or {}
    md = ev.get("metadata") or {}
    rl = request.resource_logs.add()
    set_attrs(rl.resource.attributes, {
        "k8s.node.name": source.get("host") or "",
        "k8s.object.kind": involved.get("kind") or "",
        "k8s.object.name": involved.get("name") or "",
        "k8s.object.uid": involved.get("uid") or "",
        "k8s.object.fieldpath": involved.get("fieldPath") or "",
        "k8s.object.api_version": involved.get("apiVersion") or "",
        "k8s.object.resource_version": involved.get("resourceVersion") or "",
    })
    sl = rl.scope_logs.add()
    sl.scope.name = SCOPE_NAME
    sl.scope.version = version
    lr = sl.log_records.add()
    t = event_time(ev)
    if t is not None:
        lr.time_unix_nano = int(t.timestamp() * 1e9)
    lr.body.string_value = ev.get("message") or ""
    etype = ev.get("type") or ""
    sev = SEVERITY.get(etype.lower())
    if sev is not None:
        lr.severity_number = sev
        lr.severity_text = etype
    attrs = {
        "k8s.event.reason": ev.get("reason") or "",
        "k8s.event.action": ev.get("action") or "",
        "k8s.event.start_time": go_time_string(md.get("creationTimestamp")),
        "k8s.event.name": md.get("name") or "",
        "k8s.event.uid": md.get("uid") or "",
        "k8s.namespace.name": involved.get("namespace") or "",
    }
    count = ev.get("count")
    if isinstance(count, int) and not isinstance(count, bool) and count != 0:
        attrs["k8s.event.count"] = count
    set_attrs(lr.attributes, attrs)


def slim_event(ev: dict) -> dict:
    """What append_event and the receiver's filters read; the informer caches these."""
    md = ev.get("metadata") or {}
    out = {k: ev.get(k) for k in ("involvedObject", "source", "message", "type", "reason", "action",
                                  "count", "eventTime", "lastTimestamp", "firstTimestamp")}
    out["metadata"] = {k: md.get(k) for k in ("name", "namespace", "uid", "resourceVersion",
                                             "creationTimestamp")}
    return out
