"""What both exporters (`otlp` over gRPC, `otlphttp`) say about the connection to their gateway:
connected at start without sending data, a refused gateway warned about before any data, and a
slow one named a context deadline exceeded, always with the endpoint."""
from __future__ import annotations

import logging

import pytest

from collector.exporters.otlp import factory as grpc_factory
from collector.exporters.otlphttp import factory as http_factory
from collector.testing import free_port, wait_until
from tests.exporters.harness import FAST_RETRY, AckRecorder, logs_request, make_exporter, payload

KINDS = ["grpc", "http"]


def _endpoint(kind, sink) -> str:
    return sink.grpc_endpoint if kind == "grpc" else sink.http_endpoint


def _exporter(kind, endpoint, **extra):
    if kind == "grpc":
        raw, factory = {"endpoint": endpoint, "tls": {"insecure": True}}, grpc_factory
    else:
        raw, factory = {"endpoint": endpoint}, http_factory
    raw["retry_on_failure"] = dict(FAST_RETRY)
    raw.update(extra)
    return make_exporter(factory, raw)


@pytest.mark.parametrize("kind", KINDS)
def test_idle_exporter_connects_at_start_without_sending_data(sink, kind):
    built = _exporter(kind, _endpoint(kind, sink))
    try:
        assert wait_until(lambda: built.host.statuses == [(built.cid, True, "connected")])
        assert sink.attempts == []  # the probe is a connection, not an export
    finally:
        built.shutdown()


@pytest.mark.parametrize("kind", KINDS)
def test_idle_exporter_warns_about_a_refused_gateway_before_any_data(kind, caplog):
    endpoint = f"127.0.0.1:{free_port()}"
    if kind == "http":
        endpoint = "http://" + endpoint
    with caplog.at_level(logging.WARNING):
        built = _exporter(kind, endpoint)
        try:
            assert wait_until(lambda: "connection refused" in caplog.text)
        finally:
            built.shutdown()
    line = next(r.getMessage() for r in caplog.records if "connection refused" in r.getMessage())
    assert endpoint in line and "Failed to connect" in line
    assert built.host.statuses == []


@pytest.mark.parametrize("kind", KINDS)
def test_slow_gateway_logs_context_deadline_exceeded(sink, kind, caplog):
    sink.set_failure(None, times=1, delay=1.0)
    built = _exporter(kind, _endpoint(kind, sink), timeout="200ms")
    ack = AckRecorder()
    try:
        with caplog.at_level(logging.WARNING):
            built.exporter.consume(payload("logs", logs_request(1), ack))
            assert ack.wait(1, timeout=10) == [True]
        assert "context deadline exceeded" in caplog.text
        assert _endpoint(kind, sink) in caplog.text
    finally:
        built.shutdown()
