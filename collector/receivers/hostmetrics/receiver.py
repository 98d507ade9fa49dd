"""The hostmetrics receiver: runs every configured scraper each collection_interval in its own
thread and hands one ExportMetricsServiceRequest per scrape to the metrics pipeline.

One scraper's failure (a missing file, a permission error) never stops the others: the
failure is counted, logged once per kind of message, and the rest of the scrape goes out.
"""
from __future__ import annotations

import re
import threading
import time

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from collector.component import Component, Payload, PermanentError, Refused
from collector.pdata import count_items

from .cpu import CPUScraper
from .disk import DiskScraper
from .filesystem import FilesystemScraper
from .hostfs import HostFS
from .load import LoadScraper
from .memory import MemoryScraper
from .network import NetworkScraper
from .paging import PagingScraper
from .process import ProcessScraper
from .processes import ProcessesScraper
from .system import SystemScraper

SCRAPER_CLASSES = {c.name: c for c in (CPUScraper, MemoryScraper, LoadScraper, FilesystemScraper,
                                       DiskScraper, NetworkScraper, PagingScraper, ProcessesScraper,
                                       ProcessScraper, SystemScraper)}

# Distinct error kinds remembered per scraper for log-once; beyond this they log at debug, so
# a pathological host cannot grow memory without bound.
MAX_ERROR_KINDS = 256
_DIGITS = re.compile(r"\d+")


class HostMetricsReceiver(Component):
    def __init__(self, settings, config, consumer, fs: HostFS | None = None) -> None:
        self.settings = settings
        self.config = config
        self.consumer = consumer
        self.log = settings.logger
        self.fs = fs or HostFS(config.root_path, clock=settings.clock)
        self.scrapers = [SCRAPER_CLASSES[name](cfg, self.fs, self.log.getChild(name))
                         for name, cfg in config.scraper_configs().items()]
        tel = settings.telemetry
        self._scraped = tel.counter("otelcol_scraper_scraped_metric_points",
                                    "Number of metric points successfully scraped.", ("scraper",))
        self._errors = tel.counter("skuber_hostmetrics_scrape_errors",
                                   "Scraper errors: failed (nothing from that scraper this time) or "
                                   "partial (one mount, disk or process skipped).",
                                   ("scraper", "kind"))
        self._dropped = tel.counter("skuber_hostmetrics_dropped_metric_points",
                                    "Scraped points the pipeline refused (not retried: the next "
                                    "scrape supersedes them).", ("reason",))
        self._seen: dict[str, set[str]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # lifecycle -------------------------------------------------------------------------------
    def start(self, host) -> None:
        self._thread = threading.Thread(target=self._run, name=f"hostmetrics-{self.settings.id}",
                                        daemon=True)
        self._thread.start()

    def shutdown(self, deadline: float) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        if self._stop.wait(self.config.initial_delay):
            return
        interval = self.config.collection_interval
        next_at = time.monotonic()
        while not self._stop.is_set():
            try:
                self.scrape_and_send()
            except Exception:  # never let the scrape thread die: the next tick may succeed
                self.log.exception("hostmetrics scrape failed")
            # Fixed-rate ticks; a scrape longer than the interval skips the missed ticks
            # instead of scraping back to back.
            next_at += interval
            now = time.monotonic()
            if next_at < now:
                next_at = now + interval - ((now - next_at) % interval)
            if self._stop.wait(next_at - now):
                return

    # one scrape ------------------------------------------------------------------------------
    def scrape(self) -> ExportMetricsServiceRequest:
        req = ExportMetricsServiceRequest()
        for s in self.scrapers:
            t0 = time.monotonic()
            try:
                rms, partial = s.scrape()
            except Exception as e:
                self._error(s.name, "failed", f"{type(e).__name__}: {e}")
                continue
            req.resource_metrics.extend(rms)
            n = sum(_points(rm) for rm in rms)
            if n:
                self._scraped.labels(scraper=s.name).inc(n)
            for msg in partial:
                self._error(s.name, "partial", msg)
            took = time.monotonic() - t0
            if self.config.timeout and took > self.config.timeout:
                self._error(s.name, "partial", f"scrape took {took:.3f}s, over the "
                                               f"{self.config.timeout}s timeout")
        return req

    def scrape_and_send(self) -> int:
        req = self.scrape()
        n = count_items("metrics", req)
        if not n:
            return 0
        try:
            self.consumer.consume(Payload("metrics", req))
        except Refused:
            reason = "refused"
        except PermanentError as e:
            reason = "permanent_error"
            self.log.error("pipeline rejected host metrics: %s", e)
        except Exception:  # a bug downstream: counted here, the scrape loop goes on
            reason = "error"
            self.log.exception("pipeline failed on host metrics")
        else:
            self.settings.telemetry.receiver_accepted("metrics", n)
            return n
        self.settings.telemetry.receiver_refused("metrics", n)
        self._dropped.labels(reason=reason).inc(n)
        return 0

    def _error(self, scraper: str, kind: str, message: str) -> None:
        self._errors.labels(scraper=scraper, kind=kind).inc()
        seen = self._seen.setdefault(scraper, set())
        key = _DIGITS.sub("N", message)[:200]  # "pid 123" and "pid 456" are one kind
        if key in seen:
            self.log.debug("%s scraper: %s", scraper, message)
            return
        if len(seen) < MAX_ERROR_KINDS:
            seen.add(key)
        self.log.warning("%s scraper %s: %s (further errors like this are counted in "
                         "skuber_hostmetrics_scrape_errors, not logged)", scraper, kind, message)


def _points(rm) -> int:
    n = 0
    for sm in rm.scope_metrics:
        for m in sm.metrics:
            kind = m.WhichOneof("data")
            if kind:
                n += len(getattr(m, kind).data_points)
    return n
