import logging

import pytest

from collector.component import ComponentID, CreateSettings
from collector.config import decode
from collector.k8s.fakeapi import FakeAPIServer
from collector.processors.k8sattributes import factory
from collector.telemetry import Telemetry


class Sink:
    def __init__(self):
        self.payloads = []

    def consume(self, payload):
        self.payloads.append(payload)


@pytest.fixture
def fake_api(tmp_path, monkeypatch):
    srv = FakeAPIServer(bookmark_interval=0.5).start()
    monkeypatch.setenv("KUBECONFIG", srv.write_kubeconfig(str(tmp_path / "kubeconfig")))
    yield srv
    srv.stop()


@pytest.fixture
def make_processor():
    """make_processor(raw_config, signal="traces", name="") -> (processor, sink, telemetry); started
    with auth_type kubeConfig unless the config says otherwise; shut down after the test."""
    made = []

    def make(raw=None, signal="traces", name=""):
        raw = dict(raw or {})
        raw.setdefault("auth_type", "kubeConfig")
        config = decode(factory.config_class, raw, "processors.k8sattributes")
        cid = ComponentID("k8sattributes", name)
        tel = Telemetry()
        settings = CreateSettings(id=cid, kind="processor", logger=logging.getLogger(f"test.{cid}"),
                                  telemetry=tel.component("processor", str(cid)))
        sink = Sink()
        proc = factory.create(settings, config, signal, sink)
        proc.start(host=None)
        made.append(proc)
        return proc, sink, tel

    yield make
    for proc in made:
        proc.shutdown(0)
