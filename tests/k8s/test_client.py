"""make_api_client: kubeConfig (explicit, $KUBECONFIG, context), serviceAccount, none."""
import pytest

from collector.k8s.client import make_api_client, request_json
from collector.k8s.fakeapi import FakeAPIServer, objects


def test_kubeconfig_from_env(fake_api, tmp_path, monkeypatch):
    fake_api.create(objects.namespace("from-env"))
    path = fake_api.write_kubeconfig(str(tmp_path / "config"))
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path}/missing:{path}")
    api = make_api_client("kubeConfig")
    assert request_json(api, "GET", "/api/v1/namespaces/from-env")["metadata"]["name"] == "from-env"


def test_kubeconfig_unknown_context_fails(fake_api, tmp_path):
    from kubernetes.config import ConfigException

    path = fake_api.write_kubeconfig(str(tmp_path / "config"))
    assert make_api_client("kubeConfig", kubeconfig=path, context="fake").configuration.host == fake_api.url
    with pytest.raises(ConfigException):
        make_api_client("kubeConfig", kubeconfig=path, context="nope")


def test_service_account_in_cluster(tmp_path, monkeypatch):
    from kubernetes.config import incluster_config

    with FakeAPIServer(tls=True, token="sa-token") as srv:
        srv.create(objects.namespace("kube-system"))
        (tmp_path / "token").write_text("sa-token")
        host, port = srv.url.removeprefix("https://").split(":")
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", host)
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)
        monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
        monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", srv.ca_file)
        api = make_api_client("serviceAccount")
        assert request_json(api, "GET", "/api/v1/namespaces/kube-system")["metadata"]["name"] == "kube-system"


def test_service_account_outside_a_cluster_is_a_config_error(monkeypatch):
    from kubernetes.config import ConfigException

    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ConfigException):
        make_api_client("serviceAccount")


def test_none_and_unknown_auth_types(monkeypatch):
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    api = make_api_client("none")
    assert api.configuration.host == "https://10.96.0.1:443"
    assert "authorization" not in api.configuration.api_key
    with pytest.raises(ValueError, match="auth_type"):
        make_api_client("tls")
