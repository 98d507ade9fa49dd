"""Self-telemetry: Prometheus metrics with otelcol's names (logging: logs.py).

Each Service has its own prometheus_client registry so several services (tests) can live in one
process. Components get a ComponentTelemetry bound to their id.
"""
from __future__ import annotations

import re
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.utils import floatToGoString

from .pdata import ITEM_NAMES

# otelcol exposes no `_created` series; prometheus_client adds one per counter unless told not to.
disable_created_metrics()


class _Bound:
    """A metric family with the component label filled in."""

    __slots__ = ("_family", "_fixed", "_plain")

    def __init__(self, family, fixed: dict) -> None:
        self._family = family
        self._fixed = fixed
        self._plain = None

    def labels(self, **labels):
        return self._family.labels(**self._fixed, **{k: str(v) for k, v in labels.items()})

    def _child(self):
        if self._plain is None:
            self._plain = self._family.labels(**self._fixed)
        return self._plain

    def inc(self, amount: float = 1) -> None:
        self._child().inc(amount)

    def set(self, value: float) -> None:
        self._child().set(value)

    def dec(self, amount: float = 1) -> None:
        self._child().dec(amount)

    def observe(self, value: float) -> None:
        self._child().observe(value)


class Telemetry:
    """One service's metric registry; families are created once and shared by components."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self._families: dict[str, object] = {}
        self._lock = threading.Lock()
        self.started = time.time()
        self.registry.register(_ProcessCollector(self.started))
        self.resource: dict[str, str] = default_resource({})

    def set_resource(self, configured: dict) -> None:
        """service.telemetry.resource: added to the defaults; a null value removes one."""
        self.resource = default_resource(configured)

    def family(self, cls, name: str, description: str, labelnames: tuple, **kw):
        with self._lock:
            fam = self._families.get(name)
            if fam is None:
                fam = cls(name, description, labelnames=labelnames, registry=self.registry, **kw)
                self._families[name] = fam
            elif tuple(fam._labelnames) != tuple(labelnames):
                raise ValueError(f"metric {name} declared with labels {fam._labelnames} and {labelnames}")
            return fam

    def component(self, kind: str, component_id: str) -> "ComponentTelemetry":
        return ComponentTelemetry(self, kind, component_id)

    def value(self, name: str, labels: dict | None = None) -> float:
        """Sample value by name (tests, health): 0.0 when absent."""
        v = self.registry.get_sample_value(name, labels or {})
        return v or 0.0


# otelcol's descriptions (receiverhelper, exporterhelper metadata.yaml), shown as # HELP.
_DESCRIPTIONS = {
    ("receiver", "accepted"): "{} successfully pushed into the pipeline.",
    ("receiver", "refused"): "{} that could not be pushed into the pipeline.",
    ("exporter", "sent"): "{} successfully sent to destination.",
    ("exporter", "send_failed"): "{} in failed attempts to send to destination.",
    ("exporter", "enqueue_failed"): "{} failed to be added to the sending queue.",
    ("processor", "refused"): "{} that were rejected by the next component in the pipeline.",
}


class ComponentTelemetry:
    def __init__(self, telemetry: Telemetry, kind: str, component_id: str) -> None:
        self.telemetry = telemetry
        self.kind = kind
        self.id = component_id
        self._fixed = {kind: component_id}

    # Component-specific families -------------------------------------------------------------
    def counter(self, name: str, description: str, labelnames=()):
        fam = self.telemetry.family(Counter, name, description, (self.kind, *labelnames))
        return _Bound(fam, self._fixed)

    def gauge(self, name: str, description: str, labelnames=()):
        fam = self.telemetry.family(Gauge, name, description, (self.kind, *labelnames))
        return _Bound(fam, self._fixed)

    def histogram(self, name: str, description: str, labelnames=(), buckets=None):
        kw = {"buckets": buckets} if buckets else {}
        fam = self.telemetry.family(Histogram, name, description, (self.kind, *labelnames), **kw)
        return _Bound(fam, self._fixed)

    # otelcol's standard families ---------------------------------------------------------------
    def _item_counter(self, verb: str, signal: str, extra=()):
        item = ITEM_NAMES[signal]
        what = _DESCRIPTIONS.get((self.kind, verb), "{} " + verb.replace("_", " ") + ".")
        return self.counter(f"otelcol_{self.kind}_{verb}_{item}", "Number of " + what.format(item.replace("_", " ")), extra)

    def receiver_accepted(self, signal: str, n: int, transport: str = "") -> None:
        if n:
            self._item_counter("accepted", signal, ("transport",)).labels(transport=transport).inc(n)

    def receiver_refused(self, signal: str, n: int, transport: str = "") -> None:
        if n:
            self._item_counter("refused", signal, ("transport",)).labels(transport=transport).inc(n)

    def exporter_sent(self, signal: str, n: int) -> None:
        if n:
            self._item_counter("sent", signal).inc(n)

    def exporter_send_failed(self, signal: str, n: int) -> None:
        if n:
            self._item_counter("send_failed", signal).inc(n)

    def exporter_enqueue_failed(self, signal: str, n: int) -> None:
        if n:
            self._item_counter("enqueue_failed", signal).inc(n)

    def processor_refused(self, signal: str, n: int) -> None:
        if n:
            self._item_counter("refused", signal).inc(n)

    def set_queue(self, size: int, capacity: int) -> None:
        self.gauge(f"otelcol_{self.kind}_queue_size", "Current size of the retry queue (in batches).").set(size)
        self.gauge(f"otelcol_{self.kind}_queue_capacity", "Fixed capacity of the retry queue (in batches).").set(capacity)

    def dropped(self, signal: str, n: int, reason: str) -> None:
        if n:
            fam = self.telemetry.family(Counter, "skuber_dropped_items", "Items dropped for good, by component and reason.",
                                        ("component", "signal", "reason"))
            fam.labels(component=f"{self.kind}/{self.id}", signal=signal, reason=reason).inc(n)


def default_resource(configured: dict) -> dict[str, str]:
    """The collector's own resource: service.name/version/instance.id plus the configured ones."""
    from .component import BuildInfo

    info = BuildInfo()
    out = {"service.name": info.command, "service.version": info.version,
           "service.instance.id": str(uuid.uuid4())}
    for k, v in (configured or {}).items():
        if v is None:
            out.pop(str(k), None)
        else:
            out[str(k)] = str(v).lower() if isinstance(v, bool) else str(v)
    return out


class _ProcessCollector:
    """otelcol_process_* metrics, read at scrape time (uptime and cpu are counters there too)."""

    def __init__(self, started: float) -> None:
        self.started = started

    def collect(self):
        import psutil
        p = psutil.Process()
        with p.oneshot():
            cpu = p.cpu_times()
            rss = p.memory_info().rss
        yield CounterMetricFamily("otelcol_process_uptime", "Uptime of the process (seconds).", time.time() - self.started)
        yield GaugeMetricFamily("otelcol_process_memory_rss", "Total physical memory (resident set size) in bytes.", rss)
        yield CounterMetricFamily("otelcol_process_cpu_seconds", "Total CPU user and system time in seconds.", cpu.user + cpu.system)


# Exposition on :8888 -------------------------------------------------------------------------------

# Units of our families, appended when a configured prometheus reader keeps units (the default
# reader, like otelcol's, drops them). Only what has a unit other than a {count} annotation.
_UNITS = {"otelcol_process_uptime": "seconds", "otelcol_process_cpu_seconds": "seconds",
          "otelcol_process_memory_rss": "bytes"}


def _label(name: str) -> str:
    out = re.sub(r"[^a-zA-Z0-9_]", "_", name)
    return "_" + out if out[:1].isdigit() else out


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def exposition(telemetry: Telemetry, type_suffix: bool = False, units: bool = False,
               resource_labels: tuple = (), target_info: bool = True) -> bytes:
    """Prometheus text format as otelcol's exporter writes it.

    otelcol's default reader writes counters without `_total` and names without units
    (`otelcol_exporter_sent_spans`); a configured prometheus reader adds both unless told
    `without_type_suffix` / `without_units`. prometheus_client always writes `_total`, hence
    our own writer. The resource is the `target_info` series; resource_labels (with_resource_
    constant_labels.included) also go on every series.
    """
    const = {_label(k): v for k, v in telemetry.resource.items() if k in resource_labels}
    out = []
    if target_info:
        out += ["# HELP target_info Target metadata\n# TYPE target_info gauge\n",
                "target_info" + _labels({_label(k): v for k, v in telemetry.resource.items()}) + " 1\n"]
    for fam in telemetry.registry.collect():
        base, typ = fam.name, fam.type
        unit = _UNITS.get(base) if units else None
        name = f"{base}_{unit}" if unit and not base.endswith("_" + unit) else base
        exposed = name + "_total" if typ == "counter" and type_suffix else name
        kind = {"unknown": "untyped", "info": "gauge", "stateset": "gauge"}.get(typ, typ)
        if not fam.samples:
            continue  # a family with no series yet: otelcol shows nothing either
        doc = fam.documentation.replace("\\", "\\\\").replace("\n", "\\n")
        out.append(f"# HELP {exposed} {doc}\n# TYPE {exposed} {kind}\n")
        for smp in fam.samples:
            if typ == "counter":
                if smp.name != base + "_total":
                    continue  # _created: otelcol has none
                sname = exposed
            else:
                sname = name + smp.name[len(base):]
            out.append(f"{sname}{_labels({**const, **smp.labels})} {floatToGoString(smp.value)}\n")
    return "".join(out).encode("utf-8")


def _labels(labels: dict) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(labels.items())) + "}"


class MetricsServer:
    """Serves /metrics (text format 0.0.4 only, as otelcol's promhttp handler does)."""

    def __init__(self, telemetry: Telemetry, host: str, port: int, type_suffix: bool = False,
                 units: bool = False, resource_labels: tuple = (), target_info: bool = True) -> None:
        render = lambda: exposition(telemetry, type_suffix, units, resource_labels, target_info)  # noqa: E731

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404, "self-metrics are at /metrics")
                    return
                body = render()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # scrapes are not worth a log line
                pass

        host = host.strip("[]") or "0.0.0.0"
        server_cls = ThreadingHTTPServer
        if ":" in host:
            server_cls = type("V6Server", (ThreadingHTTPServer,), {"address_family": socket.AF_INET6})
        self.server = server_cls((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="self-metrics", daemon=True)

    def start(self) -> "MetricsServer":
        self._thread.start()
        return self

    def shutdown(self) -> None:
        self.server.shutdown()
        self.server.server_close()
