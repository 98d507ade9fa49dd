"""TLS of both exporters against the sink serving TLS with certificates made by trustme:
verified CA, unknown CA, skip-verify against a mismatched name, mTLS with and without a client
certificate, and https:// meaning TLS."""
from __future__ import annotations

import contextlib
import logging

import pytest
import trustme

from collector.exporters.otlp import factory as grpc_factory
from collector.exporters.otlphttp import factory as http_factory
from collector.sink import Sink
from tests.exporters.harness import FAST_RETRY, AckRecorder, logs_request, make_exporter, payload

NO_WAIT_RETRY = {**FAST_RETRY, "max_elapsed_time": "300ms"}


class Certs:
    def __init__(self, tmp_path, server_names=("127.0.0.1", "localhost")) -> None:
        self.ca = trustme.CA()
        self.other_ca = trustme.CA()
        server = self.ca.issue_cert(*server_names)
        client = self.ca.issue_cert("agent.example")
        self.ca_file = str(tmp_path / "ca.pem")
        self.other_ca_file = str(tmp_path / "other-ca.pem")
        self.server_cert = str(tmp_path / "server.pem")
        self.server_key = str(tmp_path / "server.key")
        self.client_cert = str(tmp_path / "client.pem")
        self.client_key = str(tmp_path / "client.key")
        self.ca.cert_pem.write_to_path(self.ca_file)
        self.other_ca.cert_pem.write_to_path(self.other_ca_file)
        server.private_key_pem.write_to_path(self.server_key)
        client.private_key_pem.write_to_path(self.client_key)
        for path, cert in ((self.server_cert, server), (self.client_cert, client)):
            with open(path, "wb") as f:
                for blob in cert.cert_chain_pems:
                    f.write(blob.bytes())


@pytest.fixture
def certs(tmp_path):
    return Certs(tmp_path)


def _tls_sink(certs, client_ca=None):
    sink = Sink(tls_cert=certs.server_cert, tls_key=certs.server_key, client_ca=client_ca)
    return sink.start()


def _exporter(kind, sink, tls, **extra):
    if kind == "grpc":
        raw = {"endpoint": sink.grpc_endpoint, "tls": tls}
        factory = grpc_factory
    else:
        raw = {"endpoint": sink.http_endpoint, "tls": tls}
        factory = http_factory
    raw["retry_on_failure"] = dict(NO_WAIT_RETRY)
    raw.update(extra)
    return make_exporter(factory, raw)


@contextlib.contextmanager
def _tls_pair(certs, kind, tls, client_ca=None):
    """A TLS sink and an exporter of `kind` pointed at it, both stopped afterwards."""
    sink = _tls_sink(certs, client_ca)
    try:
        built = _exporter(kind, sink, tls)
        try:
            yield sink, built
        finally:
            built.shutdown()
    finally:
        sink.stop()


def _send_one(built) -> bool:
    ack = AckRecorder()
    built.exporter.consume(payload("logs", logs_request(1), ack))
    (result,) = ack.wait(1, timeout=10)
    return result


KINDS = ["grpc", "http"]


@pytest.mark.parametrize("kind", KINDS)
def test_certificate_signed_by_the_configured_ca_is_accepted(certs, kind):
    with _tls_pair(certs, kind, {"ca_file": certs.ca_file}) as (sink, built):
        assert _send_one(built) is True
        assert sink.count("logs") == 1


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_ca_fails_with_a_clear_message(certs, kind, caplog):
    with _tls_pair(certs, kind, {"ca_file": certs.other_ca_file}) as (sink, built):
        with caplog.at_level(logging.WARNING):
            assert _send_one(built) is False
        assert sink.count("logs") == 0
        assert "certificate signed by unknown authority" in caplog.text


@pytest.mark.parametrize("kind", KINDS)
def test_system_roots_do_not_trust_a_private_ca(certs, kind, caplog):
    with _tls_pair(certs, kind, {}) as (sink, built):  # TLS with verification is the default
        with caplog.at_level(logging.WARNING):
            assert _send_one(built) is False
        assert "unknown authority" in caplog.text


@pytest.mark.parametrize("kind", KINDS)
def test_name_mismatch_is_refused_when_verifying(tmp_path, kind, caplog):
    certs = Certs(tmp_path, server_names=("gateway.example",))
    with _tls_pair(certs, kind, {"ca_file": certs.ca_file}) as (sink, built):
        with caplog.at_level(logging.WARNING):
            assert _send_one(built) is False
        assert "name" in caplog.text and "mismatch" in caplog.text


@pytest.mark.parametrize("kind", KINDS)
def test_insecure_skip_verify_works_with_self_signed_mismatched_name(tmp_path, kind, caplog):
    certs = Certs(tmp_path, server_names=("gateway.example",))
    with _tls_pair(certs, kind, {"insecure_skip_verify": True}) as (sink, built):
        with caplog.at_level(logging.WARNING):
            assert _send_one(built) is True
        assert sink.count("logs") == 1
        if kind == "grpc":  # the pinning is said out loud
            assert "insecure_skip_verify" in caplog.text and "pinned" in caplog.text


@pytest.mark.parametrize("kind", KINDS)
def test_server_name_override_matches_the_certificate(tmp_path, kind):
    certs = Certs(tmp_path, server_names=("gateway.example",))
    tls = {"ca_file": certs.ca_file, "server_name_override": "gateway.example"}
    with _tls_pair(certs, kind, tls) as (sink, built):
        assert _send_one(built) is True


@pytest.mark.parametrize("kind", KINDS)
def test_mtls_with_client_certificate_is_accepted(certs, kind):
    tls = {"ca_file": certs.ca_file, "cert_file": certs.client_cert, "key_file": certs.client_key}
    with _tls_pair(certs, kind, tls, client_ca=certs.ca_file) as (sink, built):
        assert _send_one(built) is True
        assert sink.count("logs") == 1


@pytest.mark.parametrize("kind", KINDS)
def test_mtls_without_client_certificate_is_refused(certs, kind):
    with _tls_pair(certs, kind, {"ca_file": certs.ca_file}, client_ca=certs.ca_file) as (sink, built):
        assert _send_one(built) is False
        assert sink.count("logs") == 0


def test_https_scheme_means_tls_even_with_insecure_set(certs):
    sink = _tls_sink(certs)
    built = make_exporter(grpc_factory, {"endpoint": "https://" + sink.grpc_endpoint,
                                         "tls": {"insecure": True, "ca_file": certs.ca_file},
                                         "retry_on_failure": dict(NO_WAIT_RETRY)})
    try:
        assert _send_one(built) is True
    finally:
        built.shutdown()
        sink.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_tls_client_against_a_plain_server_says_so(kind, caplog):
    sink = Sink().start()
    if kind == "grpc":
        built = make_exporter(grpc_factory, {"endpoint": sink.grpc_endpoint, "tls": {"insecure_skip_verify": False},
                                             "retry_on_failure": dict(NO_WAIT_RETRY)})
    else:
        built = make_exporter(http_factory, {"endpoint": sink.http_endpoint.replace("http://", "https://"),
                                             "retry_on_failure": dict(NO_WAIT_RETRY)})
    try:
        with caplog.at_level(logging.WARNING):
            assert _send_one(built) is False
        assert "does not look like a TLS handshake" in caplog.text
    finally:
        built.shutdown()
        sink.stop()


def test_tls_settings_grpc_cannot_apply_are_said_not_silently_ignored(certs, caplog):
    sink = _tls_sink(certs)
    with caplog.at_level(logging.WARNING):
        built = _exporter("grpc", sink, {"ca_file": certs.ca_file, "min_version": "1.3"})
    try:
        assert "tls.min_version/max_version" in caplog.text and "not applied" in caplog.text
        assert _send_one(built) is True
    finally:
        built.shutdown()
        sink.stop()


def test_ssl_context_applies_versions_verification_and_client_pair(certs):
    import ssl

    from collector.config.tls import TLSClientConfig
    from collector.exporters.exporterhelper.transport_security import ssl_context

    ctx = ssl_context(TLSClientConfig(ca_file=certs.ca_file, min_version="1.3"))
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_3
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    ctx = ssl_context(TLSClientConfig(min_version="1.2", max_version="1.2", insecure_skip_verify=True))
    assert ctx.maximum_version == ssl.TLSVersion.TLSv1_2
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname
    with open(certs.client_cert) as c, open(certs.client_key) as k:
        ssl_context(TLSClientConfig(cert_pem=c.read(), key_pem=k.read()))  # inline PEM loads
