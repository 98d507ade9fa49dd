"""The `otlp` (gRPC) exporter against the real in-process sink: the OTLP retry table, throttling,
partial success, queueing, acknowledgements and the log lines users grep for."""
from __future__ import annotations

import logging
import time

import pytest

from collector.component import Refused
from collector.exporters.otlp import factory
from collector.testing import free_port

from tests.exporters.harness import FAST_RETRY, AckRecorder, logs_request, make_exporter, payload, spans_request

RETRIED = ["UNAVAILABLE", "CANCELLED", "DEADLINE_EXCEEDED", "ABORTED", "OUT_OF_RANGE", "DATA_LOSS"]
NOT_RETRIED = ["INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
               "FAILED_PRECONDITION", "UNIMPLEMENTED", "INTERNAL", "UNKNOWN", "UNAUTHENTICATED",
               "RESOURCE_EXHAUSTED"]


def _grpc(sink, **extra):
    raw = {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}, "retry_on_failure": dict(FAST_RETRY)}
    raw.update(extra)
    return make_exporter(factory, raw)


@pytest.mark.parametrize("code", RETRIED)
def test_retryable_code_is_retried_until_delivered(sink, code):
    sink.set_failure(code, times=2)
    built = _grpc(sink)
    ack = AckRecorder()
    try:
        built.exporter.consume(payload("traces", spans_request(4), ack))
        assert ack.wait(1) == [True]
        assert sink.count("traces") == 4
        assert [a["status"] for a in sink.attempts] == [code, code, "OK"]
        assert built.metric("otelcol_exporter_sent_spans_total") == 4
        assert built.metric("otelcol_exporter_send_failed_spans_total") == 0
    finally:
        built.shutdown()


@pytest.mark.parametrize("code", NOT_RETRIED)
def test_non_retryable_code_drops_after_one_attempt(sink, code):
    sink.set_failure(code, times=3)
    built = _grpc(sink)
    ack = AckRecorder()
    try:
        built.exporter.consume(payload("traces", spans_request(3), ack))
        assert ack.wait(1) == [False]
        time.sleep(0.15)  # several backoff intervals: a retry would have shown up by now
        assert [a["status"] for a in sink.attempts] == [code]
        assert sink.count("traces") == 0
        assert built.metric("otelcol_exporter_send_failed_spans_total") == 3
    finally:
        built.shutdown()


def test_resource_exhausted_with_retry_info_is_retried_after_the_given_delay(sink):
    sink.set_failure("RESOURCE_EXHAUSTED", times=1, retry_after=0.6)
    built = _grpc(sink)
    ack = AckRecorder()
    try:
        built.exporter.consume(payload("logs", logs_request(2), ack))
        assert ack.wait(1) == [True]
        first, second = sink.attempts
        assert first["status"] == "RESOURCE_EXHAUSTED" and second["status"] == "OK"
        # backoff alone would wait 20ms; RetryInfo asked for 600ms
        assert second["time"] - first["time"] >= 0.55
    finally:
        built.shutdown()


def test_unavailable_with_retry_info_waits_the_longer_server_delay(sink):
    sink.set_failure("UNAVAILABLE", times=1, retry_after=0.5)
    built = _grpc(sink)
    ack = AckRecorder()
    try:
        built.exporter.consume(payload("logs", logs_request(1), ack))
        assert ack.wait(1) == [True]
        first, second = sink.attempts
        assert second["time"] - first["time"] >= 0.45
    finally:
        built.shutdown()


def test_backoff_delays_grow_between_attempts(sink):
    sink.set_failure("UNAVAILABLE", times=3)
    retry = {"initial_interval": "100ms", "multiplier": 2, "randomization_factor": 0,
             "max_interval": "1s", "max_elapsed_time": "10s"}
    built = _grpc(sink, retry_on_failure=retry)
    ack = AckRecorder()
    try:
        built.exporter.consume(payload("logs", logs_request(1), ack))
        assert ack.wait(1, timeout=10) == [True]
        times = [a["time"] for a in sink.attempts]
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert len(gaps) == 3
        for gap, expected in zip(gaps, (0.1, 0.2, 0.4)):
            assert expected * 0.9 <= gap < expected + 1.0  # generous: 2 busy cores
    finally:
        built.shutdown()


def test_retries_stop_after_max_elapsed_time(sink):
    sink.set_failure("UNAVAILABLE", times=-1)
    # The budget counts from the first attempt, which also sets the channel up: leave room
    # for a slow first connect on a busy machine.
    retry = {**FAST_RETRY, "max_elapsed_time": "1s"}
    built = _grpc(sink, retry_on_failure=retry)
    ack = AckRecorder()
    try:
        start = time.monotonic()
        built.exporter.consume(payload("logs", logs_request(2), ack))
        assert ack.wait(1, timeout=5) == [False]
        assert time.monotonic() - start < 4
        assert len(sink.attempts) >= 3
        assert built.metric("otelcol_exporter_send_failed_log_records_total") == 2
    finally:
        built.shutdown()


def test_retry_disabled_drops_at_first_retryable_error(sink):
    sink.set_failure("UNAVAILABLE", times=-1)
    built = _grpc(sink, retry_on_failure={"enabled": False})
    ack = AckRecorder()
    try:
        built.exporter.consume(payload("logs", logs_request(1), ack))
        assert ack.wait(1) == [False]
        assert len(sink.attempts) == 1
    finally:
        built.shutdown()


def test_partial_success_is_logged_counted_and_not_retried(sink, caplog):
    sink.set_failure(partial_rejected=2, times=1, error_message="2 spans too old")
    built = _grpc(sink)
    ack = AckRecorder()
    try:
        with caplog.at_level(logging.WARNING):
            built.exporter.consume(payload("traces", spans_request(5), ack))
            assert ack.wait(1) == [True]
            time.sleep(0.1)
        assert [a["status"] for a in sink.attempts] == ["PARTIAL"]
        assert built.metric("otelcol_exporter_sent_spans_total") == 3
        assert built.metric("otelcol_exporter_send_failed_spans_total") == 2
        assert "Partial success" in caplog.text and "2 spans too old" in caplog.text
    finally:
        built.shutdown()


def test_first_success_reports_connected_once(sink, caplog):
    with caplog.at_level(logging.INFO):
        built = _grpc(sink)
    ack = AckRecorder()
    try:
        with caplog.at_level(logging.INFO):
            for _ in range(3):
                built.exporter.consume(payload("logs", logs_request(1), ack))
            assert ack.wait(3) == [True, True, True]
        assert built.host.statuses == [("otlp", True, "connected")]
        assert caplog.text.count("Exporter connected") == 1
    finally:
        built.shutdown()


def test_refused_gateway_logs_connection_refused_with_endpoint_once_per_storm(caplog):
    port = free_port()
    endpoint = f"127.0.0.1:{port}"
    built = make_exporter(factory, {"endpoint": endpoint, "tls": {"insecure": True},
                                    "retry_on_failure": {**FAST_RETRY, "max_elapsed_time": "600ms"}})
    acks = AckRecorder()
    try:
        with caplog.at_level(logging.WARNING):
            for _ in range(4):
                built.exporter.consume(payload("logs", logs_request(1), acks))
            assert acks.wait(4, timeout=10) == [False] * 4
        lines = [r.getMessage() for r in caplog.records if "connection refused" in r.getMessage()]
        assert lines and all(endpoint in line for line in lines)
        # 4 requests x several retries each, yet one retry warning and one drop line
        assert len([line for line in lines if "Will retry" in line]) == 1
        assert len([line for line in lines if "Dropping data" in line]) == 1
        assert built.host.statuses == []
    finally:
        built.shutdown()


def test_header_values_reach_nobody_but_the_gateway(sink, caplog):
    sink.set_failure("PERMISSION_DENIED", times=1)
    built = _grpc(sink, headers={"Authorization": "Bearer s3cr3t-token"})
    ack = AckRecorder()
    try:
        with caplog.at_level(logging.DEBUG):
            built.exporter.consume(payload("logs", logs_request(1), ack))
            assert ack.wait(1) == [False]
            built.exporter.consume(payload("logs", logs_request(1), ack))
            assert ack.wait(2) == [False, True]
        assert "s3cr3t" not in caplog.text
        assert "s3cr3t" not in repr(built.exporter.config)
    finally:
        built.shutdown()


def test_full_queue_refuses_and_counts_enqueue_failed(sink):
    sink.set_failure(None, times=-1, delay=0.5)
    built = _grpc(sink, sending_queue={"num_consumers": 1, "queue_size": 1})
    acks = AckRecorder()
    try:
        built.exporter.consume(payload("logs", logs_request(1), acks))  # taken by the consumer
        assert sink.wait_for(lambda s: s.requests("logs") >= 1, timeout=5)
        built.exporter.consume(payload("logs", logs_request(1), acks))  # waits in the queue
        assert built.metric("otelcol_exporter_queue_size") == 1
        assert built.metric("otelcol_exporter_queue_capacity") == 1
        with pytest.raises(Refused):
            built.exporter.consume(payload("logs", logs_request(3), acks))
        assert acks.results == [False]
        assert built.metric("otelcol_exporter_enqueue_failed_log_records_total") == 3
    finally:
        sink.clear_failure()
        built.shutdown()


def test_shutdown_interrupts_backoff_wait_and_acks_false():
    port = free_port()
    built = make_exporter(factory, {"endpoint": f"127.0.0.1:{port}", "tls": {"insecure": True},
                                    "retry_on_failure": {"initial_interval": "30s"}})
    ack = AckRecorder()
    built.exporter.consume(payload("logs", logs_request(2), ack))
    time.sleep(0.3)  # first attempt fails at once; the consumer now waits ~30s
    start = time.monotonic()
    built.shutdown(grace=5)
    assert time.monotonic() - start < 3
    assert ack.wait(1) == [False]
    assert built.metric("otelcol_exporter_send_failed_log_records_total") == 2
    with pytest.raises(Refused):
        built.exporter.consume(payload("logs", logs_request(1), ack))


def test_shutdown_flushes_the_memory_queue(sink):
    built = _grpc(sink, sending_queue={"num_consumers": 2})
    acks = AckRecorder()
    for i in range(50):
        built.exporter.consume(payload("traces", spans_request(2, name=f"b{i}"), acks))
    built.shutdown(grace=10)
    assert acks.wait(50) == [True] * 50
    assert sink.count("traces") == 100


def test_without_sending_queue_the_caller_sends_and_learns_the_outcome(sink):
    from collector.component import PermanentError

    built = _grpc(sink, sending_queue={"enabled": False})
    ack = AckRecorder()
    try:
        built.exporter.consume(payload("logs", logs_request(2), ack))
        assert ack.results == [True] and sink.count("logs") == 2
        sink.set_failure("INVALID_ARGUMENT", times=1)
        with pytest.raises(PermanentError):
            built.exporter.consume(payload("logs", logs_request(1), ack))
        assert ack.results == [True, False]
    finally:
        built.shutdown()


def test_gzip_and_no_compression_both_deliver_unchanged_requests(sink):
    for compression in ("gzip", "none"):
        built = _grpc(sink, compression=compression)
        ack = AckRecorder()
        try:
            req = spans_request(3, name=compression)
            built.exporter.consume(payload("traces", req, ack))
            assert ack.wait(1) == [True]
        finally:
            built.shutdown()
    names = [s.name for m in sink.messages("traces") for rs in m.resource_spans
             for ss in rs.scope_spans for s in ss.spans]
    assert names == ["gzip-0", "gzip-1", "gzip-2", "none-0", "none-1", "none-2"]


def test_block_on_overflow_waits_for_room_instead_of_refusing(sink):
    import threading

    sink.set_failure(None, times=3, delay=0.3)
    built = _grpc(sink, sending_queue={"num_consumers": 1, "queue_size": 1, "block_on_overflow": True})
    acks = AckRecorder()
    errors = []

    def produce():
        for _ in range(3):
            try:
                built.exporter.consume(payload("logs", logs_request(1), acks))
            except Exception as e:  # pragma: no cover - the assertion below reports it
                errors.append(e)

    try:
        t = threading.Thread(target=produce)
        start = time.monotonic()
        t.start()
        t.join(10)
        assert not errors and not t.is_alive()
        assert time.monotonic() - start >= 0.25  # the third consume had to wait for room
        assert acks.wait(3) == [True] * 3
        assert built.metric("otelcol_exporter_enqueue_failed_log_records_total") == 0
    finally:
        built.shutdown()
