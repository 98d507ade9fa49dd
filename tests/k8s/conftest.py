import pytest

from collector.k8s.client import make_api_client
from collector.k8s.fakeapi import FakeAPIServer


@pytest.fixture
def fake_api():
    srv = FakeAPIServer(bookmark_interval=0.2).start()
    yield srv
    srv.stop()


@pytest.fixture
def api_client(fake_api, tmp_path):
    client = make_api_client("kubeConfig", kubeconfig=fake_api.write_kubeconfig(str(tmp_path / "kubeconfig")))
    yield client
    client.close()


@pytest.fixture
def informers():
    """Informers started by a test, stopped after it whatever happens."""
    started = []
    yield started
    for inf in started:
        inf.stop()
