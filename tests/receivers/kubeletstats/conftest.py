import logging

import pytest

from collector.component import ComponentID, CreateSettings
from collector.config import decode
from collector.k8s.fakeapi import objects
from collector.k8s.fakeapi.kubelet import FakeKubelet, stats_summary
from collector.receivers.kubeletstats import factory
from collector.receivers.kubeletstats import kubelet_client
from collector.telemetry import Telemetry


class Sink:
    def __init__(self, refuse=False):
        self.payloads = []
        self.refuse = refuse

    def consume(self, payload):
        if self.refuse:
            from collector.component import Refused

            raise Refused("memory pressure")
        self.payloads.append(payload)


@pytest.fixture
def node_pods():
    dep, rs, *pods = objects.deployment_with_pods("web", "shop", replicas=2)
    db = objects.pod("db-0", "shop", ip="10.244.1.50", containers=[("postgres", "postgres:16.2"), ("exporter", "pg-exporter:0.15")])
    db["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}},
                             {"name": "cache", "emptyDir": {}}]
    return [*pods, db]


@pytest.fixture
def kubelet(node_pods, tmp_path, monkeypatch):
    k = FakeKubelet(token="sa-token").start()
    k.summary = stats_summary("node-1", node_pods)
    k.pods = node_pods
    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text("sa-token\n")
    (sa / "ca.crt").write_text(open(k.ca_file).read())
    monkeypatch.setattr(kubelet_client, "SERVICE_ACCOUNT_DIR", str(sa))
    yield k
    k.stop()


@pytest.fixture
def make_receiver():
    made = []

    def make(raw, sink=None, start=False):
        config = decode(factory.config_class, raw, "receivers.kubeletstats")
        tel = Telemetry()
        settings = CreateSettings(id=ComponentID("kubeletstats"), kind="receiver",
                                  logger=logging.getLogger("test.kubeletstats"),
                                  telemetry=tel.component("receiver", "kubeletstats"))
        sink = sink or Sink()
        rec = factory.create(settings, config, {"metrics": sink})
        if start:
            rec.start(host=None)
        else:
            rec._client = rec._client_factory()
        made.append(rec)
        return rec, sink, tel

    yield make
    import time

    for rec in made:
        rec.shutdown(time.monotonic() + 2)
