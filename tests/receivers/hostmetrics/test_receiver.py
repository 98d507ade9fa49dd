"""The receiver: config decoding, one request per scrape, failures isolated per scraper."""
import logging
import threading
import time

import pytest

from collector.component import ComponentID, CreateSettings, PermanentError, Refused
from collector.config import ConfigErrors, decode
from collector.receivers.hostmetrics import factory
from collector.receivers.hostmetrics.config import Config, CPUConfig, FilesystemConfig, ProcessConfig
from collector.receivers.hostmetrics.receiver import HostMetricsReceiver
from collector.telemetry import Telemetry
from tests.receivers.hostmetrics.fixture_node import flatten

ALL = ["cpu", "memory", "load", "filesystem", "disk", "network", "paging", "processes", "process",
       "system"]


class Sink:
    def __init__(self, refuse=False):
        self.payloads = []
        self.refuse = refuse
        self.got = threading.Event()

    def consume(self, payload):
        if self.refuse:
            raise Refused("memory pressure")
        self.payloads.append(payload)
        self.got.set()


def make_receiver(raw, fs, consumer):
    tel = Telemetry()
    settings = CreateSettings(ComponentID("hostmetrics"), "receiver",
                              logging.getLogger("collector.receiver.hostmetrics"),
                              tel.component("receiver", "hostmetrics"))
    cfg = decode(Config, raw, "receivers.hostmetrics")
    return HostMetricsReceiver(settings, cfg, consumer, fs=fs), tel


def test_defaults_and_scrapers_with_no_value(tmp_path):
    cfg = decode(Config, {"root_path": str(tmp_path), "scrapers": {"cpu": None, "filesystem": {}}})
    assert (cfg.collection_interval, cfg.initial_delay, cfg.timeout) == (60.0, 1.0, 0.0)
    scrapers = cfg.scraper_configs()
    assert isinstance(scrapers["cpu"], CPUConfig) and isinstance(scrapers["filesystem"], FilesystemConfig)
    assert scrapers["filesystem"].include_virtual_filesystems is False


def test_full_config_decodes(tmp_path):
    cfg = decode(Config, {
        "collection_interval": "10s", "initial_delay": "0s", "root_path": str(tmp_path),
        "scrapers": {"process": {"include": {"names": ["a.*"], "match_type": "regexp"},
                                 "mute_process_name_error": True, "scrape_process_delay": "5s",
                                 "resource_attributes": {"process.cgroup": {"enabled": True}},
                                 "metrics": {"process.threads": {"enabled": True}}}}})
    p = cfg.scraper_configs()["process"]
    assert isinstance(p, ProcessConfig) and p.scrape_process_delay == 5.0
    assert p.include.names == ["a.*"] and p.mute_process_name_error
    assert p.resource_attribute_enabled()["process.cgroup"] is True
    assert cfg.collection_interval == 10.0


@pytest.mark.parametrize("raw, path", [
    ({"scrapers": {"cpux": {}}}, "receivers.hostmetrics.scrapers.cpux"),
    ({"scrapers": {"cpu": {"bogus": 1}}}, "receivers.hostmetrics.scrapers.cpu.bogus"),
    ({"scrapers": {"cpu": {"metrics": {"system.cpu.nope": {"enabled": True}}}}},
     "receivers.hostmetrics.scrapers.cpu.metrics.system.cpu.nope"),
    ({"scrapers": {"filesystem": {"exclude_mount_points": {"mount_points": ["/x"]}}}},
     "receivers.hostmetrics.scrapers.filesystem.exclude_mount_points.match_type"),
    ({"scrapers": {"disk": {"include": {"devices": ["("], "match_type": "regexp"}}}},
     "receivers.hostmetrics.scrapers.disk.include.match_type"),
    ({"scrapers": {}}, "receivers.hostmetrics.scrapers"),
    ({"scrapers": {"cpu": {}}, "collection_interval": "0s"}, "receivers.hostmetrics.collection_interval"),
    ({"scrapers": {"cpu": {}}, "root_path": "/no/such/dir"}, "receivers.hostmetrics.root_path"),
    ({"scrapers": {"cpu": {}}, "unknown": 1}, "receivers.hostmetrics.unknown"),
])
def test_bad_config_names_the_key(raw, path):
    with pytest.raises(ConfigErrors) as e:
        decode(Config, raw, "receivers.hostmetrics")
    assert any(err.path == path for err in e.value.errors), str(e.value)


def test_factory_is_registered_for_metrics():
    from collector.registry import default_registry

    f = default_registry().get("receiver", "hostmetrics")
    assert f is factory and f.signals == frozenset({"metrics"}) and f.config_class is Config


def test_one_scrape_carries_every_scraper(node_fs):
    sink = Sink()
    r, tel = make_receiver({"scrapers": {s: {} for s in ALL}}, node_fs, sink)
    n = r.scrape_and_send()
    assert n > 0 and len(sink.payloads) == 1
    p = sink.payloads[0]
    assert p.signal == "metrics"
    scopes = {sm.scope.name.rsplit("/", 1)[1] for rm in p.request.resource_metrics for sm in rm.scope_metrics}
    assert scopes == {f"{s}scraper" for s in ALL}
    assert tel.value("otelcol_receiver_accepted_metric_points_total",
                     {"receiver": "hostmetrics", "transport": ""}) == n
    assert tel.value("otelcol_scraper_scraped_metric_points_total",
                     {"receiver": "hostmetrics", "scraper": "cpu"}) == 16


def test_missing_file_fails_one_scraper_logged_once_and_counted(node_copy, caplog):
    root, fs = node_copy
    (root / "proc/diskstats").unlink()
    sink = Sink()
    r, tel = make_receiver({"scrapers": {"disk": {}, "memory": {}, "load": {}}}, fs, sink)
    with caplog.at_level(logging.WARNING, logger="collector.receiver.hostmetrics"):
        r.scrape_and_send()
        r.scrape_and_send()
    assert len(sink.payloads) == 2
    names = set(flatten(sink.payloads[1].request.resource_metrics))
    assert "system.memory.usage" in names and "system.cpu.load_average.1m" in names
    assert not any(n.startswith("system.disk") for n in names)
    logged = [rec for rec in caplog.records if "disk scraper failed" in rec.getMessage()]
    assert len(logged) == 1 and "diskstats" in logged[0].getMessage()
    assert tel.value("skuber_hostmetrics_scrape_errors_total",
                     {"receiver": "hostmetrics", "scraper": "disk", "kind": "failed"}) == 2


def test_permission_error_in_one_scraper_keeps_the_rest(node_fs):
    real = node_fs.read

    def read(path):
        if path.endswith("/proc/meminfo"):
            raise PermissionError(13, "Permission denied", path)
        return real(path)
    node_fs.read = read
    sink = Sink()
    r, tel = make_receiver({"scrapers": {"memory": {}, "system": {}}}, node_fs, sink)
    r.scrape_and_send()
    names = set(flatten(sink.payloads[0].request.resource_metrics))
    assert names == {"system.uptime"}
    assert tel.value("skuber_hostmetrics_scrape_errors_total",
                     {"receiver": "hostmetrics", "scraper": "memory", "kind": "failed"}) == 1


def test_refused_scrape_is_counted_not_raised(node_fs):
    r, tel = make_receiver({"scrapers": {"load": {}}}, node_fs, Sink(refuse=True))
    assert r.scrape_and_send() == 0
    assert tel.value("skuber_hostmetrics_dropped_metric_points_total",
                     {"receiver": "hostmetrics", "reason": "refused"}) == 3
    assert tel.value("otelcol_receiver_refused_metric_points_total",
                     {"receiver": "hostmetrics", "transport": ""}) == 3


class _FailingSink:
    def __init__(self, error):
        self.error = error

    def consume(self, payload):
        raise self.error


@pytest.mark.parametrize("error, reason", [(PermanentError("bad data"), "permanent_error"),
                                           (RuntimeError("bug downstream"), "error")])
def test_a_pipeline_error_is_counted_as_refused_and_dropped(node_fs, error, reason):
    r, tel = make_receiver({"scrapers": {"load": {}}}, node_fs, _FailingSink(error))
    assert r.scrape_and_send() == 0
    assert tel.value("skuber_hostmetrics_dropped_metric_points_total",
                     {"receiver": "hostmetrics", "reason": reason}) == 3
    assert tel.value("otelcol_receiver_refused_metric_points_total",
                     {"receiver": "hostmetrics", "transport": ""}) == 3


def test_runs_on_its_own_thread_every_interval_and_stops(node_fs):
    sink = Sink()
    r, _ = make_receiver({"scrapers": {"load": {}}, "initial_delay": "0s",
                          "collection_interval": "50ms"}, node_fs, sink)
    r.start(host=None)
    deadline = time.monotonic() + 5
    while len(sink.payloads) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    r.shutdown(time.monotonic() + 2)
    assert len(sink.payloads) >= 3
    assert not r._thread.is_alive()
    n = len(sink.payloads)
    time.sleep(0.12)
    assert len(sink.payloads) == n  # nothing after shutdown


def test_initial_delay_is_honoured_and_shutdown_interrupts_it(node_fs):
    sink = Sink()
    r, _ = make_receiver({"scrapers": {"load": {}}, "initial_delay": "10s"}, node_fs, sink)
    r.start(host=None)
    time.sleep(0.1)
    t0 = time.monotonic()
    r.shutdown(time.monotonic() + 2)
    assert time.monotonic() - t0 < 1 and sink.payloads == []


def test_metadata_collection_interval_is_accepted_as_upstream(tmp_path):
    cfg = decode(Config, {"root_path": str(tmp_path), "scrapers": {"cpu": None}})
    assert cfg.metadata_collection_interval == 300.0  # upstream default 5m
    cfg = decode(Config, {"metadata_collection_interval": "0s", "scrapers": {"cpu": None}})
    assert cfg.metadata_collection_interval == 0.0
    with pytest.raises(ConfigErrors) as e:
        decode(Config, {"metadata_collection_interval": "-1s", "scrapers": {"cpu": None}},
               "receivers.hostmetrics")
    assert any(err.path == "receivers.hostmetrics.metadata_collection_interval"
               for err in e.value.errors), str(e.value)
