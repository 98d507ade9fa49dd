"""The `otlphttp` exporter against the real in-process sink: the HTTP rows of the OTLP retry
table, Retry-After, partial success, encodings, per-signal URLs and connection errors."""
from __future__ import annotations

import logging
import time

import pytest

from collector.exporters.otlphttp import factory
from collector.exporters.exporterhelper.send_errors import RetryableSendError
from collector.exporters.otlphttp.config import Config
from collector.exporters.otlphttp.http_transport import HttpTransport, parse_retry_after
from collector.testing import free_port
from tests.exporters.harness import (FAST_RETRY, AckRecorder, logs_request, make_exporter,
                                     metrics_request, payload, spans_request)


def _http(sink, **extra):
    raw = {"endpoint": sink.http_endpoint, "retry_on_failure": dict(FAST_RETRY)}
    raw.update(extra)
    return make_exporter(factory, raw)


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_status_is_retried_until_delivered(sink, status):
    sink.set_failure(status, times=2)
    built = _http(sink)
    ack = AckRecorder()
    try:
        built.exporter.consume(payload("traces", spans_request(4), ack))
        assert ack.wait(1) == [True]
        assert [a["status"] for a in sink.attempts] == [status, status, "OK"]
        assert sink.count("traces") == 4
        assert built.metric("otelcol_exporter_sent_spans_total") == 4
    finally:
        built.shutdown()


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 500])
def test_other_status_is_not_retried(sink, status):
    sink.set_failure(status, times=3)
    built = _http(sink)
    ack = AckRecorder()
    try:
        built.exporter.consume(payload("logs", logs_request(3), ack))
        assert ack.wait(1) == [False]
        time.sleep(0.15)
        assert [a["status"] for a in sink.attempts] == [status]
        assert built.metric("otelcol_exporter_send_failed_log_records_total") == 3
    finally:
        built.shutdown()


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(sink, status):
    sink.set_failure(status, times=1, retry_after=1)
    built = _http(sink)
    ack = AckRecorder()
    try:
        built.exporter.consume(payload("logs", logs_request(1), ack))
        assert ack.wait(1, timeout=10) == [True]
        first, second = sink.attempts
        assert second["time"] - first["time"] >= 0.95  # backoff alone: 20ms
    finally:
        built.shutdown()


def test_retry_after_parses_seconds_and_http_dates():
    assert parse_retry_after("7") == 7
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470) == pytest.approx(10)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_partial_success_is_counted_and_not_retried(sink, caplog):
    sink.set_failure(partial_rejected=1, times=1, error_message="one point out of order")
    built = _http(sink)
    ack = AckRecorder()
    try:
        with caplog.at_level(logging.WARNING):
            built.exporter.consume(payload("metrics", metrics_request(3), ack))
            assert ack.wait(1) == [True]
        assert [a["status"] for a in sink.attempts] == ["PARTIAL"]
        assert built.metric("otelcol_exporter_sent_metric_points_total") == 2
        assert built.metric("otelcol_exporter_send_failed_metric_points_total") == 1
        assert "one point out of order" in caplog.text
    finally:
        built.shutdown()


@pytest.mark.parametrize("encoding", ["proto", "json"])
@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_every_encoding_and_compression_delivers_the_same_request(sink, encoding, compression):
    built = _http(sink, encoding=encoding, compression=compression)
    ack = AckRecorder()
    try:
        req = spans_request(2, name="enc")
        req.resource_spans[0].scope_spans[0].spans[0].parent_span_id = bytes(range(8))
        built.exporter.consume(payload("traces", req, ack))
        assert ack.wait(1) == [True]
        (got,) = sink.messages("traces")
        assert got == req
    finally:
        built.shutdown()


def test_json_partial_success_is_read(sink):
    sink.set_failure(partial_rejected=2, times=1)
    built = _http(sink, encoding="json")
    ack = AckRecorder()
    try:
        built.exporter.consume(payload("logs", logs_request(5), ack))
        assert ack.wait(1) == [True]
        assert built.metric("otelcol_exporter_send_failed_log_records_total") == 2
    finally:
        built.shutdown()


def test_signal_endpoint_overrides_the_base_url(sink):
    dead = f"http://127.0.0.1:{free_port()}"
    built = make_exporter(factory, {"endpoint": dead, "logs_endpoint": sink.http_endpoint + "/v1/logs",
                                    "retry_on_failure": dict(FAST_RETRY)})
    ack = AckRecorder()
    try:
        built.exporter.consume(payload("logs", logs_request(2), ack))
        assert ack.wait(1) == [True]
        assert sink.count("logs") == 2
    finally:
        built.shutdown()


def test_one_consumer_keeps_its_connection_for_many_requests(sink):
    built = _http(sink, sending_queue={"num_consumers": 1})
    acks = AckRecorder()
    try:
        for i in range(20):
            built.exporter.consume(payload("logs", logs_request(1), acks))
        assert acks.wait(20) == [True] * 20
        assert sink.count("logs") == 20
    finally:
        built.shutdown()


def test_failed_sends_do_not_pile_up_closed_connections():
    # Each failed attempt drops its connection; the transport must not keep them all for close().
    transport = HttpTransport(Config(endpoint=f"http://127.0.0.1:{free_port()}"), logging.getLogger("t"))
    try:
        for _ in range(50):
            with pytest.raises(RetryableSendError):
                transport.send("logs", logs_request(1).SerializeToString(), 1.0)
        assert len(transport._all_conns) <= 1
    finally:
        transport.close()


def test_refused_gateway_logs_connection_refused_with_endpoint(caplog):
    endpoint = f"http://127.0.0.1:{free_port()}"
    built = make_exporter(factory, {"endpoint": endpoint,
                                    "retry_on_failure": {**FAST_RETRY, "max_elapsed_time": "400ms"}})
    acks = AckRecorder()
    try:
        with caplog.at_level(logging.WARNING):
            for _ in range(3):
                built.exporter.consume(payload("logs", logs_request(1), acks))
            assert acks.wait(3, timeout=10) == [False] * 3
        retry_lines = [r.getMessage() for r in caplog.records if "Will retry" in r.getMessage()]
        assert len(retry_lines) == 1
        assert "connection refused" in retry_lines[0] and endpoint in retry_lines[0]
    finally:
        built.shutdown()


def test_header_values_are_sent_but_never_logged(sink, caplog):
    sink.set_failure(403, times=1)
    built = _http(sink, headers={"X-Api-Key": "s3cr3t-key"})
    ack = AckRecorder()
    try:
        with caplog.at_level(logging.DEBUG):
            built.exporter.consume(payload("logs", logs_request(1), ack))
            assert ack.wait(1) == [False]
        assert "s3cr3t" not in caplog.text
        assert "s3cr3t" not in repr(built.exporter.config)
    finally:
        built.shutdown()
