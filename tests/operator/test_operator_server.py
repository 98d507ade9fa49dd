"""The HTTPS server's own behaviour: bounded concurrency with counted rejections, request size
limit, certificate rotation without restart."""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import time

import pytest

from collector.operator import webhook
from collector.operator.webhook import WebhookServer
from collector.testing import free_port, wait_until
from tests.operator.operator_pods import deployment_pod
from tests.operator.test_operator_review import review

trustme = pytest.importorskip("trustme")


def write_cert(ca, directory, name="127.0.0.1"):
    cert = ca.issue_cert(name)
    tmp_crt, tmp_key = directory / "tls.crt.new", directory / "tls.key.new"
    cert.cert_chain_pems[0].write_to_path(str(tmp_crt))
    cert.private_key_pem.write_to_path(str(tmp_key))
    # Atomic swaps, as the kubelet updates a Secret volume.
    os.replace(tmp_key, directory / "tls.key")
    os.replace(tmp_crt, directory / "tls.crt")
    return cert


@pytest.fixture
def served(mutator, tmp_path, monkeypatch):
    monkeypatch.setattr(webhook, "MAX_CONCURRENT", 1)
    monkeypatch.setattr(webhook, "CERT_CHECK_INTERVAL", 0.0)
    ca = trustme.CA()
    write_cert(ca, tmp_path)
    port = free_port()
    server = WebhookServer(mutator, "127.0.0.1", port, str(tmp_path / "tls.crt"), str(tmp_path / "tls.key"))
    server.start()
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    yield server, port, ctx, ca, tmp_path
    server.shutdown()


def post(port, ctx, path, body, headers=None):
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    try:
        conn.request("POST", path, body, {"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_connections_beyond_the_bound_are_closed_and_counted(served):
    server, port, ctx, _, _ = served
    stalled = socket.create_connection(("127.0.0.1", port), timeout=5)  # holds the only slot
    try:
        time.sleep(0.2)
        with pytest.raises((ConnectionError, ssl.SSLError, OSError, http.client.HTTPException)):
            post(port, ctx, "/mutate-v1-pod", review(deployment_pod({})))
        assert server.metrics.registry.get_sample_value("skuber_operator_rejected_connections_total") == 1
    finally:
        stalled.close()
    # The slot comes back once the stalled client goes away.
    assert wait_until(lambda: _ok(port, ctx), timeout=10.0)


def test_plain_http_on_the_tls_port_is_counted_not_fatal(served):
    server, port, ctx, _, _ = served
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"POST /mutate-v1-pod HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        raw.recv(1024)  # the server answers with a TLS alert or just closes
    errors = lambda: server.metrics.registry.get_sample_value("skuber_operator_connection_errors_total") or 0
    assert wait_until(lambda: errors() >= 1, timeout=10.0)
    assert _ok(port, ctx)


def _ok(port, ctx):
    try:
        return post(port, ctx, "/mutate-v1-pod", review(deployment_pod({})))[0] == 200
    except (OSError, http.client.HTTPException):
        return False


def test_oversized_and_unknown_requests_are_refused_without_reading(served):
    _, port, ctx, _, _ = served
    assert post(port, ctx, "/mutate-v1-pod", b"x", {"Content-Length": str(webhook.MAX_BODY + 1)})[0] == 413
    assert post(port, ctx, "/validate-anything", b"{}")[0] == 404


def test_rotated_certificate_is_served_without_restart(served):
    _, port, ctx, ca, directory = served

    def peer_serial():
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                from cryptography import x509
                return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number

    first = peer_serial()
    new = write_cert(ca, directory)
    from cryptography import x509
    expected = x509.load_pem_x509_certificate(new.cert_chain_pems[0].bytes()).serial_number
    assert expected != first
    assert wait_until(lambda: peer_serial() == expected, timeout=10.0)
