"""The whole webhook process over HTTPS, with a generated certificate, as the API server calls it;
Instrumentations from a file and from the (fake) API server through the watch layer."""

from __future__ import annotations

import base64
import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
import yaml

from collector.k8s.fakeapi import FakeAPIServer
from collector.testing import free_port, wait_until
from tests.operator.operator_pods import apply, deployment_pod, env_of, instrumentation_object, validate_pod
from tests.operator.test_operator_review import review

trustme = pytest.importorskip("trustme")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANN = "instrumentation.opentelemetry.io/"


@pytest.fixture
def certs(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("skuber-otel-operator.skuber-observability.svc", "127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "tls.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "tls.crt"))
    cert.private_key_pem.write_to_path(str(tmp_path / "tls.key"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.crt"))
    return tmp_path


def start(certs, port, *extra):
    cmd = [sys.executable, "-m", "collector", "operator", "--listen", f"127.0.0.1:{port}",
           "--tls-cert", str(certs / "tls.crt"), "--tls-key", str(certs / "tls.key"),
           "--default-namespace", "skuber-observability", *extra]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc


def call(certs, port, path, body=None, timeout=5.0):
    ctx = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    req = urllib.request.Request(f"https://127.0.0.1:{port}{path}", data=body, method="POST" if body else "GET",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=timeout) as resp:
        return resp.status, resp.read()


def wait_ready(certs, port, proc):
    def up():
        if proc.poll() is not None:
            raise AssertionError(f"operator exited: {proc.stdout.read()}")
        try:
            return call(certs, port, "/readyz")[0] == 200
        except (OSError, urllib.error.URLError):
            return False
    assert wait_until(up, timeout=20.0), "webhook did not become ready"


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"operator did not stop on SIGTERM: {out}")
    return proc.returncode, out


def mutate(certs, port, pod, namespace="shop"):
    status, body = call(certs, port, "/mutate-v1-pod", review(pod, namespace))
    assert status == 200
    return json.loads(body)["response"]


def test_https_webhook_from_file_injects_and_stops_cleanly(certs, tmp_path):
    path = tmp_path / "inst.yaml"
    path.write_text(yaml.safe_dump(instrumentation_object()))
    port = free_port()
    proc = start(certs, port, "--instrumentation", str(path))
    try:
        wait_ready(certs, port, proc)
        pod = deployment_pod({ANN + "inject-python": "skuber-instrumentation"})
        resp = mutate(certs, port, pod)
        patched = apply(pod, json.loads(base64.b64decode(resp["patch"])))
        validate_pod(patched)
        assert env_of(patched["spec"]["containers"][0])["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
        assert "patch" not in mutate(certs, port, deployment_pod({}))
        # The API server answers a broken webhook by failurePolicy; we answer garbage with allowed.
        status, body = call(certs, port, "/mutate-v1-pod", b"not json")
        assert status == 200 and json.loads(body)["response"]["allowed"] is True
        metrics = call(certs, port, "/metrics")[1].decode()
        assert 'skuber_operator_admission_reviews_total{outcome="injected"} 1.0' in metrics
        # Plain HTTP to the TLS port gets nothing useful, and the server survives it.
        with pytest.raises((OSError, urllib.error.URLError)):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3).read()
        assert call(certs, port, "/healthz")[0] == 200
    finally:
        code, out = stop(proc)
    assert code == 0, out
    assert "Everything is ready" in out


def test_https_webhook_watches_instrumentations_from_the_api(certs, tmp_path):
    with FakeAPIServer(bookmark_interval=0.2) as api:
        api.create(instrumentation_object())
        kubeconfig = api.write_kubeconfig(str(tmp_path / "kubeconfig"))
        port = free_port()
        proc = start(certs, port, "--kubeconfig", kubeconfig)
        try:
            wait_ready(certs, port, proc)
            pod = deployment_pod({ANN + "inject-java": "skuber-instrumentation"})
            resp = mutate(certs, port, pod)
            env = env_of(apply(pod, json.loads(base64.b64decode(resp["patch"])))["spec"]["containers"][0])
            assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://10.0.0.5:4317"
            # A namespace's own Instrumentation, created later, wins for that namespace.
            api.create(instrumentation_object(namespace="shop", exporter={"endpoint": "http://shop-gw:4317"}))

            def uses_shop_gateway():
                r = mutate(certs, port, pod)
                e = env_of(apply(pod, json.loads(base64.b64decode(r["patch"])))["spec"]["containers"][0])
                return e["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://shop-gw:4317"
            assert wait_until(uses_shop_gateway, timeout=10.0)
        finally:
            code, out = stop(proc)
        assert code == 0, out


def test_missing_certificate_fails_start_with_message(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "collector", "operator", "--instrumentation", "x.yaml"],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "--tls-cert" in proc.stderr
