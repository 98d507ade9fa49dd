"""Soak: the receiver scraping the live host every 20 ms for 20 s keeps its memory, its
per-process state and its log output bounded.  pytest -m slow tests/receivers/hostmetrics"""
import logging
import subprocess
import sys
import time

import psutil
import pytest

from collector.component import ComponentID, CreateSettings
from collector.config import decode
from collector.receivers.hostmetrics.config import Config
from collector.receivers.hostmetrics.receiver import HostMetricsReceiver
from collector.telemetry import Telemetry


class CountingSink:
    def __init__(self):
        self.n = 0

    def consume(self, payload):
        self.n += 1


class CountingHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.n = 0

    def emit(self, record):
        self.n += 1


@pytest.mark.slow
def test_twenty_seconds_of_fast_scrapes_stay_bounded():
    log = logging.getLogger("collector.receiver.hostmetrics.soak")
    handler = CountingHandler()
    log.addHandler(handler)
    tel = Telemetry()
    settings = CreateSettings(ComponentID("hostmetrics"), "receiver", log,
                              tel.component("receiver", "hostmetrics"))
    cfg = decode(Config, {"collection_interval": "20ms", "initial_delay": "0s", "scrapers": {
        s: {} for s in ("cpu", "memory", "load", "filesystem", "disk", "network", "paging",
                        "processes", "system")} | {"process": {"metrics": {
                            "process.cpu.utilization": {"enabled": True}}}}})
    sink = CountingSink()
    r = HostMetricsReceiver(settings, cfg, sink)
    me = psutil.Process()
    # Short-lived children make pids come and go, so per-process state must be pruned.
    churn = []
    r.start(host=None)
    try:
        time.sleep(2)
        rss0, logs0 = me.memory_info().rss, handler.n
        deadline = time.monotonic() + 18
        while time.monotonic() < deadline:
            churn.append(subprocess.Popen([sys.executable, "-c", "pass"]))
            churn = [p for p in churn if p.poll() is None]
            time.sleep(0.2)
        rss1 = me.memory_info().rss
    finally:
        r.shutdown(time.monotonic() + 5)
        for p in churn:
            p.wait(5)
        log.removeHandler(handler)
    process_scraper = next(s for s in r.scrapers if s.name == "process")
    print(f"\nsoak: {sink.n} scrapes, rss {rss0 >> 20} -> {rss1 >> 20} MiB, "
          f"{len(process_scraper._prev_cpu)} tracked processes, {handler.n} warnings logged")
    assert sink.n >= 50
    assert rss1 - rss0 < 32 << 20
    assert len(process_scraper._prev_cpu) <= len(psutil.pids()) + 50
    assert handler.n - logs0 <= 20  # new kinds only; repeats are counted, not logged
