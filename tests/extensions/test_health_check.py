import json
import time
import urllib.error
import urllib.request

from collector.testing import free_port
from tests.engine.test_service import service

CFG = """
receivers: {fake: {}}
exporters: {fakeexp: {}}
extensions: {health_check: {endpoint: "127.0.0.1:%d"}}
service:
  extensions: [health_check]
  telemetry: {metrics: {level: none}}
  pipelines: {logs: {receivers: [fake], exporters: [fakeexp]}}
"""


def get(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_200_only_while_running():
    port = free_port()
    svc = service(CFG % port)
    ext = svc.get_extension("health_check")
    ext.start(svc)  # serve before the pipelines start, to see the 503
    code, body = get(port)
    assert code == 503 and body["status"] == "Server not available"
    ext.shutdown(0)
    svc.start()
    try:
        code, body = get(port)
        assert code == 200 and body["status"] == "Server available"
    finally:
        svc.shutdown(time.monotonic() + 2)


def _hc(raw):
    import logging

    from collector.component import ComponentID, CreateSettings
    from collector.config import decode
    from collector.extensions.health_check import Config, HealthCheck
    from collector.telemetry import Telemetry

    cfg = decode(Config, raw, "extensions.health_check")
    tel = Telemetry()
    return HealthCheck(CreateSettings(ComponentID("health_check"), "extension", logging.getLogger("t"),
                                      tel.component("extension", "health_check")), cfg)


class _Host:
    def __init__(self, healthy):
        self.healthy = healthy

    def is_healthy(self, include_components=False):
        return self.healthy


def test_response_body_is_sent_as_is_and_default_path_matches_everything():
    port = free_port()
    ext = _hc({"endpoint": f"127.0.0.1:{port}", "response_body": {"healthy": "I'm OK", "unhealthy": "I'm not well"},
               "response_headers": {"X-Probe": "yes"}})
    host = _Host(True)
    ext.start(host)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/any/path", timeout=5) as r:
            assert r.read() == b"I'm OK" and r.headers["X-Probe"] == "yes"
        host.healthy = False
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
            raise AssertionError("expected 503")
        except urllib.error.HTTPError as e:
            assert e.code == 503 and e.read() == b"I'm not well"
    finally:
        ext.shutdown(0)


def test_tls_is_served(tmp_path):
    import ssl

    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "c.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "k.pem"))
    port = free_port()
    ext = _hc({"endpoint": f"127.0.0.1:{port}", "path": "/health",
               "tls": {"cert_file": str(tmp_path / "c.pem"), "key_file": str(tmp_path / "k.pem")}})
    ext.start(_Host(True))
    try:
        ctx = ssl.create_default_context()
        ca.configure_trust(ctx)
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/health", timeout=5, context=ctx) as r:
            assert r.status == 200 and json.loads(r.read())["status"] == "Server available"
        try:
            urllib.request.urlopen(f"https://127.0.0.1:{port}/other", timeout=5, context=ctx)
            raise AssertionError("expected 404")
        except urllib.error.HTTPError as e:
            assert e.code == 404  # a path without a trailing slash matches only itself
    finally:
        ext.shutdown(0)


def test_upstream_config_keys_and_validation():
    import pytest

    from collector.config import ConfigErrors, decode
    from collector.extensions.health_check import Config

    cfg = decode(Config, {"endpoint": "localhost:13", "path": "/health",
                          "check_collector_pipeline": {"enabled": False, "interval": "5m", "exporter_failure_threshold": 5},
                          "read_header_timeout": "5s", "include_metadata": False, "cors": {"allowed_origins": ["*"]}})
    assert cfg.check_collector_pipeline.interval == 300.0 and cfg.path == "/health"
    assert decode(Config, {}).endpoint == "localhost:13133" and decode(Config, {}).path == "/"
    for raw, key in (({"check_collector_pipeline": {"exporter_failure_threshold": 0}},
                      "extensions.health_check.check_collector_pipeline.exporter_failure_threshold"),
                     ({"path": "health"}, "extensions.health_check.path"),
                     ({"endpoint": ""}, "extensions.health_check.endpoint")):
        with pytest.raises(ConfigErrors) as e:
            decode(Config, raw, "extensions.health_check")
        assert any(err.path == key for err in e.value.errors), str(e.value)
    with pytest.raises(ValueError, match="authenticator"):
        _hc({"endpoint": f"127.0.0.1:{free_port()}", "auth": {"authenticator": "basicauth"}}).start(_Host(True))
