"""Fixtures shared by the component tests of the cluster role: a recording consumer, a fake host,
component settings and a running fake API server (with KUBECONFIG pointing at it)."""
import logging
import threading

import pytest

from collector.component import ComponentID, CreateSettings
from collector.k8s.fakeapi import FakeAPIServer
from collector.telemetry import Telemetry


class RecordingConsumer:
    def __init__(self, ack=True):
        self.payloads = []
        self.ack_value = ack
        self.lock = threading.Lock()

    def consume(self, payload):
        with self.lock:
            self.payloads.append(payload)
        if self.ack_value is not None:
            payload.ack(self.ack_value)


class FakeHost:
    def __init__(self, extensions=None):
        self.extensions = extensions or {}
        self.telemetry = Telemetry()

    def get_extension(self, component_id):
        return self.extensions[component_id]

    def report_status(self, component_id, healthy, message=""):
        pass


def _make_settings(kind, cid):
    tel = Telemetry()
    return CreateSettings(id=ComponentID.parse(cid), kind=kind,
                          logger=logging.getLogger(f"collector.{kind}.{cid}"),
                          telemetry=tel.component(kind, cid))


@pytest.fixture
def make_settings():
    return _make_settings


@pytest.fixture
def fake_host():
    return FakeHost


@pytest.fixture
def recorder():
    return RecordingConsumer


@pytest.fixture
def fake_api(tmp_path, monkeypatch):
    srv = FakeAPIServer(bookmark_interval=0.2).start()
    monkeypatch.setenv("KUBECONFIG", srv.write_kubeconfig(str(tmp_path / "kubeconfig")))
    yield srv
    srv.stop()
