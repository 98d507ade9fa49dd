"""`kubeletstats` receiver: scrapes the kubelet's /stats/summary every collection_interval and
emits node, pod, container (and volume) metrics to the metrics pipeline."""

from __future__ import annotations

import threading
import time

from ... import pdata
from ...component import Component, Payload, PermanentError, Refused
from .config import Config
from .kubelet_client import KubeletClient, KubeletError, pod_metadata
from .resources import pod_resources, quantity
from .summary import SummaryConverter


class KubeletStatsReceiver(Component):
    def __init__(self, settings, config: Config, consumers: dict, client_factory=None):
        self.settings = settings
        self.config = config
        self.consumer = consumers["metrics"]
        self.log = settings.logger
        self.clock = settings.clock
        self._client_factory = client_factory or (lambda: KubeletClient(config, self._timeout))
        self._client: KubeletClient | None = None
        self._converter = SummaryConverter(config, settings.build_info.version)
        self._nodes = None  # informer on this node, for the *.node.utilization ratios
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        t = settings.telemetry
        self.telemetry = t
        self._m_scrapes = t.counter("skuber_kubeletstats_scrapes", "Scrapes of the kubelet, by outcome", ("outcome",))
        self._m_errored = t.counter("otelcol_scraper_errored_metric_points",
                                    "Number of metric points that were unable to be scraped.", ("scraper",))
        self._m_scraped = t.counter("otelcol_scraper_scraped_metric_points",
                                    "Number of metric points successfully scraped.", ("scraper",))
        self._m_bad = t.counter("skuber_kubeletstats_bad_values",
                                "Summary values that were not numbers and were skipped")

    @property
    def _timeout(self) -> float:
        return self.config.timeout or self.config.collection_interval

    def start(self, host) -> None:
        self._client = self._client_factory()
        if self.config.needs_node_capacity() and self.config.k8s_api_config is None:
            self.log.warning("kubeletstats: the *.node.utilization metrics need k8s_api_config to read "
                             "the node's capacity; they are not emitted")
        elif self.config.needs_node_capacity():
            from collector.k8s.client import make_api_client
            from collector.k8s.informer import Informer

            api = make_api_client(self.config.k8s_api_config.auth_type,
                                  context=self.config.k8s_api_config.context or None)
            self._nodes = Informer(api, "nodes", field_selector=f"metadata.name={self.config.node}",
                                   transform=_node_capacity, logger=self.log, telemetry=self.telemetry)
            self._nodes.start()
        self._thread = threading.Thread(target=self._run, name=f"kubeletstats-{self.settings.id}", daemon=True)
        self._thread.start()

    def shutdown(self, deadline: float) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._nodes is not None:
            self._nodes.stop()
        if self._client is not None:
            self._client.close()

    def _run(self) -> None:
        if self._stop.wait(self.config.initial_delay):
            return
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.scrape_once()
            except Exception:  # noqa: BLE001 - never let the scrape thread die: the next may work
                self.log.exception("kubeletstats: scrape failed")
            # fixed-rate schedule; a scrape that overran just starts the next one at once
            self._stop.wait(max(0.0, self.config.collection_interval - (time.monotonic() - started)))

    def scrape_once(self) -> int:
        """One scrape; returns the number of data points handed to the pipeline."""
        try:
            summary = self._client.get("/stats/summary")
            container_ids = volume_types = resources = None
            if self.config.needs_pod_specs():
                pods = self._client.get("/pods")
                container_ids, volume_types = pod_metadata(pods)
                resources = pod_resources(pods)
                if "container.id" not in self.config.extra_metadata_labels:
                    container_ids = None
                if "k8s.volume.type" not in self.config.extra_metadata_labels:
                    volume_types = None
        except KubeletError as e:
            self._m_scrapes.labels(outcome="error").inc()
            self._m_errored.labels(scraper="kubeletstats").inc()
            self.log.warning("kubeletstats: scrape failed: %s", e)
            return 0
        before = self._converter.bad_values
        try:
            capacity = self._nodes.get(None, self.config.node) if self._nodes is not None else None
            request, _node = self._converter.convert(summary, int(self.clock() * 1e9), container_ids,
                                                     volume_types, resources, capacity)
        except Exception:  # noqa: BLE001 - a summary shape we did not foresee: skip this scrape
            self._m_scrapes.labels(outcome="bad_summary").inc()
            self.log.exception("kubeletstats: could not convert the summary")
            return 0
        if self._converter.bad_values > before:
            self._m_bad.inc(self._converter.bad_values - before)
        n = pdata.count_items("metrics", request)
        self._m_scrapes.labels(outcome="ok").inc()
        self._m_scraped.labels(scraper="kubeletstats").inc(n)
        if n == 0:
            return 0
        try:
            self.consumer.consume(Payload("metrics", request, []))
            self.telemetry.receiver_accepted("metrics", n, "http")
        except (Refused, PermanentError) as e:
            # a scrape is not retried: the next one carries fresher values
            self.telemetry.receiver_refused("metrics", n, "http")
            self.log.warning("kubeletstats: pipeline refused %d points: %s", n, e)
            return 0
        except Exception:  # noqa: BLE001 - a bug downstream must not end the scrape loop
            self.telemetry.receiver_refused("metrics", n, "http")
            self.log.exception("kubeletstats: pipeline failed on %d points", n)
            return 0
        return n


def _node_capacity(raw: dict) -> tuple:
    """A node -> (allocatable cpu cores, allocatable memory bytes), as upstream's ratios use."""
    allocatable = (raw.get("status") or {}).get("allocatable") or {}
    return quantity(allocatable.get("cpu")), quantity(allocatable.get("memory"))
