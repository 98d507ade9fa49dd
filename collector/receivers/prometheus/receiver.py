"""prometheus receiver: scrapes static targets every scrape_interval and emits each scrape as one
metrics request (convert.py). One thread per target, so a slow target delays only itself."""
from __future__ import annotations

import functools
import http.client
import random
import re
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib

from collector.component import Component, Payload, PermanentError, Refused
from collector.pdata import count_items, new_request

from .config import Config, ScrapeConfig
from .convert import StartTimes, convert, scrape_metrics

ACCEPT = "text/plain;version=0.0.4;q=0.9,*/*;q=0.1"
DEFAULT_BODY_LIMIT = 64 * 1024 * 1024  # bounded read even when body_size_limit is 0
DEFAULT_START_METRIC = r"^(.+_)*process_start_time_seconds$"


def _gunzip(data: bytes, max_size: int) -> bytes:
    """Inflates at most max_size bytes: Prometheus limits the uncompressed body, and a few kB of
    gzip can inflate to gigabytes. Reads every gzip member, as gzip.decompress does."""
    out = b""
    while data and len(out) < max_size:
        inflate = zlib.decompressobj(wbits=31)
        out += inflate.decompress(data, max_size - len(out))
        if not inflate.eof:
            if len(out) < max_size:
                raise ValueError("truncated gzip body")
            break
        data = inflate.unused_data
    return out


class _NamedHTTPSConnection(http.client.HTTPSConnection):
    """Sends and verifies tls_config.server_name instead of the target's address (SNI)."""
    server_name = ""

    def connect(self):
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.server_name)


class _NamedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, context: ssl.SSLContext, server_name: str):
        super().__init__(context=context)
        self._server_name = server_name

    def https_open(self, req):
        def connection(host, **kw):
            conn = _NamedHTTPSConnection(host, **kw)
            conn.server_name = self._server_name
            return conn
        return self.do_open(connection, req, context=self._context)


class Target:
    def __init__(self, job: ScrapeConfig, address: str, labels: dict, interval: float, timeout: float):
        self.job = job
        self.address = address
        self.labels = labels
        self.interval = interval
        self.timeout = timeout
        query = urllib.parse.urlencode([(k, v) for k, vs in job.params.items() for v in vs])
        self.url = f"{job.scheme}://{address}{job.metrics_path}" + (f"?{query}" if query else "")
        self.last_error = ""
        self.scrapes = 0
        self.last_samples: int | None = None  # of the last successful scrape (scrape_series_added)


class PrometheusReceiver(Component):
    def __init__(self, settings, config: Config, consumers: dict):
        self.settings = settings
        self.config = config
        self.consumer = consumers["metrics"]
        self.log = settings.logger
        self.telemetry = settings.telemetry
        self.starts = StartTimes()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.targets: list[Target] = []
        for job in config.config.scrape_configs:
            for sc in job.static_configs:
                for address in sc.targets:
                    labels = dict(sc.labels)
                    self.targets.append(Target(job, address, labels, *config.timing(job)))
        self._start_metric = None
        if config.use_start_time_metric:
            self._start_metric = re.compile(config.start_time_metric_regex or DEFAULT_START_METRIC)
        self._failed = self.telemetry.counter("skuber_prometheus_scrape_failures",
                                              "Scrapes that failed, by job.", ("job",))

    def start(self, host) -> None:
        self._stop.clear()
        for t in self.targets:
            th = threading.Thread(target=self._loop, args=(t,), daemon=True,
                                  name=f"scrape-{t.job.job_name}-{t.address}")
            th.start()
            self._threads.append(th)

    def shutdown(self, deadline: float) -> None:
        self._stop.set()
        for th in self._threads:
            th.join(max(0.1, deadline - time.monotonic()))
        self._threads = []

    def _loop(self, t: Target) -> None:
        # Spread targets over the interval as Prometheus does, rather than scraping all at once.
        if self._stop.wait(random.random() * min(t.interval, 1.0)):
            return
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.scrape_once(t)
            except Exception:  # a converter bug must not end scraping of this target
                self.log.exception("prometheus: scrape of %s failed unexpectedly", t.url)
            if self._stop.wait(max(0.0, t.interval - (time.monotonic() - started))):
                return

    def _fetch(self, t: Target) -> str:
        req = urllib.request.Request(t.url, headers={"Accept": ACCEPT, "Accept-Encoding": "gzip",
                                                     "User-Agent": "skuber-collector",
                                                     "X-Prometheus-Scrape-Timeout-Seconds": str(t.timeout)})
        if t.job.bearer_token_file:
            with open(t.job.bearer_token_file) as f:
                req.add_header("Authorization", f"Bearer {f.read().strip()}")
        open_url = urllib.request.urlopen
        if t.job.scheme == "https":
            tls = t.job.tls_config
            ctx = ssl.create_default_context(cafile=tls.ca_file or None)
            if tls.cert_file:
                ctx.load_cert_chain(tls.cert_file, tls.key_file or None)
            if tls.insecure_skip_verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if tls.server_name:
                open_url = urllib.request.build_opener(_NamedHTTPSHandler(ctx, tls.server_name)).open
            else:
                open_url = functools.partial(urllib.request.urlopen, context=ctx)
        limit = t.job.body_size_bytes() or DEFAULT_BODY_LIMIT
        with open_url(req, timeout=t.timeout) as resp:
            body = resp.read(limit + 1)
            if resp.headers.get("Content-Encoding") == "gzip" and len(body) <= limit:
                body = _gunzip(body, limit + 1)
            if len(body) > limit:
                raise ValueError(f"body larger than body_size_limit ({limit} bytes)")
        return body.decode("utf-8", errors="replace")

    def scrape_once(self, t: Target) -> None:
        now_ns = int(self.settings.clock() * 1e9)
        t0 = time.monotonic()
        request = new_request("metrics")
        job, instance, scheme = t.job.job_name, t.address, t.job.scheme
        samples, up = 0, False
        try:
            text = self._fetch(t)
            samples = convert(text, request, job, instance, scheme, now_ns, self.starts, t.labels,
                              t.job.honor_timestamps, self.config.trim_metric_suffixes,
                              self.settings.build_info.version, honor_labels=t.job.honor_labels,
                              start_time_metric=self._start_metric)
            if t.job.sample_limit and samples > t.job.sample_limit:
                raise ValueError(f"{samples} samples exceed sample_limit {t.job.sample_limit}")
            up = True
            t.last_error = ""
        except (OSError, ValueError, urllib.error.URLError, http.client.HTTPException, zlib.error) as e:
            # Unreachable target, timeout, bad body: Prometheus reports up 0 and keeps going.
            del request.resource_metrics[:]
            samples = 0
            t.last_error = str(e)
            self._failed.labels(job=job).inc()
            self.log.warning("prometheus: scrape of %s failed: %s", t.url, e)
        # scrape_series_added, approximated as its HELP says: every sample on the first
        # successful scrape, then the growth of the sample count (no per-series cache kept).
        added = 0
        if up:
            added = samples if t.last_samples is None else max(0, samples - t.last_samples)
            t.last_samples = samples
        scrape_metrics(request, job, instance, scheme, now_ns, up, time.monotonic() - t0, samples,
                       self.settings.build_info.version, series_added=added, target_labels=t.labels)
        t.scrapes += 1
        n = count_items("metrics", request)
        try:
            self.consumer.consume(Payload("metrics", request))
        except (Refused, PermanentError) as e:
            self.telemetry.receiver_refused("metrics", n, "http")
            self.telemetry.dropped("metrics", n, "refused")
            self.log.warning("prometheus: scrape of %s refused downstream: %s", t.url, e)
            return
        self.telemetry.receiver_accepted("metrics", n, "http")
