"""`sending_queue.storage`: requests kept in file_storage until the gateway acknowledged them,
resent after a restart, and after a SIGKILL of the whole collector process."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from collector.component import ComponentID, CreateSettings, Refused
from collector.config import decode
from collector.exporters.otlp import factory as otlp_factory
from collector.extensions.file_storage import factory as storage_factory
from collector.sink import Sink
from collector.telemetry import Telemetry
from collector.testing import free_port, wait_until
from tests.exporters.harness import FAST_RETRY, AckRecorder, logs_request, make_exporter, payload

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _storage(directory):
    cfg = decode(storage_factory.config_class, {"directory": str(directory)}, "extensions.file_storage")
    settings = CreateSettings(ComponentID("file_storage"), "extension", logging.getLogger("test.storage"),
                              Telemetry().component("extension", "file_storage"))
    ext = storage_factory.create(settings, cfg)
    ext.start(None)
    return ext


def _exporter(endpoint, storage, **queue):
    raw = {"endpoint": endpoint, "tls": {"insecure": True}, "retry_on_failure": dict(FAST_RETRY),
           "sending_queue": {"storage": "file_storage", **queue}}
    return make_exporter(otlp_factory, raw, extensions={"file_storage": storage})


def _stored(storage):
    return [k for sig in ("logs", "metrics", "traces")
            for k, _ in storage.client("exporter", "otlp", sig).items("q/")]


def test_requests_stored_while_gateway_down_are_sent_after_restart(tmp_path):
    port = free_port()
    endpoint = f"127.0.0.1:{port}"
    storage = _storage(tmp_path)
    built = _exporter(endpoint, storage)
    acks = AckRecorder()
    for i in range(5):
        built.exporter.consume(payload("logs", logs_request(2, body=f"r{i}"), acks))
    time.sleep(0.2)
    built.shutdown(grace=2)
    # Not delivered by this process: upstream learns False, but nothing is counted as lost.
    assert acks.wait(5) == [False] * 5
    assert built.metric("otelcol_exporter_send_failed_log_records_total") == 0
    storage.shutdown(time.monotonic() + 1)

    storage = _storage(tmp_path)
    assert len(_stored(storage)) == 5
    sink = Sink(grpc=endpoint, http=None).start()
    built = _exporter(endpoint, storage)
    try:
        assert sink.wait_for(lambda s: s.count("logs") == 10, timeout=10)
        bodies = [lr.body.string_value for m in sink.messages("logs") for rl in m.resource_logs
                  for sl in rl.scope_logs for lr in sl.log_records]
        assert sorted(bodies) == sorted(f"r{i}-{j}" for i in range(5) for j in range(2))
        assert wait_until(lambda: _stored(storage) == [])
        assert built.metric("otelcol_exporter_sent_log_records_total") == 10
    finally:
        built.shutdown()
        sink.stop()
        storage.shutdown(time.monotonic() + 1)


def test_delivered_requests_are_acked_true_and_deleted(tmp_path, sink):
    storage = _storage(tmp_path)
    built = _exporter(sink.grpc_endpoint, storage)
    acks = AckRecorder()
    try:
        for _ in range(3):
            built.exporter.consume(payload("logs", logs_request(1), acks))
        assert acks.wait(3) == [True] * 3
        assert wait_until(lambda: _stored(storage) == [])
        assert built.metric("otelcol_exporter_queue_size") == 0
    finally:
        built.shutdown()
        storage.shutdown(time.monotonic() + 1)


def test_full_persistent_queue_refuses(tmp_path):
    storage = _storage(tmp_path)
    built = _exporter(f"127.0.0.1:{free_port()}", storage, queue_size=2, num_consumers=1)
    acks = AckRecorder()
    try:
        built.exporter.consume(payload("logs", logs_request(1), acks))
        built.exporter.consume(payload("logs", logs_request(1), acks))
        with pytest.raises(Refused):
            built.exporter.consume(payload("logs", logs_request(4), acks))
        assert acks.results == [False]
        assert built.metric("otelcol_exporter_enqueue_failed_log_records_total") == 4
        assert len(_stored(storage)) == 2
    finally:
        built.shutdown()
        storage.shutdown(time.monotonic() + 1)


def test_a_failed_start_leaves_no_thread_behind():
    # The engine does not shut down a component whose start raised: nothing may outlive it.
    raw = {"endpoint": f"127.0.0.1:{free_port()}", "tls": {"insecure": True},
           "sending_queue": {"storage": "file_storage/missing"}}
    built = make_exporter(otlp_factory, raw, cid="otlp/failed-start", start=False)
    with pytest.raises(KeyError):
        built.exporter.start(built.host)
    assert not [t for t in threading.enumerate() if t.name.startswith("otlp/failed-start")]


def test_unreadable_stored_entry_is_skipped_and_the_rest_delivered(tmp_path, sink):
    storage = _storage(tmp_path)
    client = storage.client("exporter", "otlp", "logs")
    client.set("q/00000000000000000000", b"\x00")                       # truncated
    client.set("q/not-a-number", b"\x00\x00\x00\x01")                     # bad key
    good = logs_request(1).SerializeToString()
    client.set("q/00000000000000000001", (1).to_bytes(4, "big") + good)
    built = _exporter(sink.grpc_endpoint, storage)
    try:
        assert sink.wait_for(lambda s: s.count("logs") == 1, timeout=10)
        assert built.exporter._queue.corrupt_skipped == 2
        assert wait_until(lambda: _stored(storage) == [])  # nothing left to warn about next start
    finally:
        built.shutdown()
        storage.shutdown(time.monotonic() + 1)


AGENT_CONFIG = """
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{receiver_port}
exporters:
  otlp:
    endpoint: 127.0.0.1:{gateway_port}
    tls: {{insecure: true}}
    retry_on_failure: {{initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 0}}
    sending_queue: {{storage: file_storage, queue_size: 5000}}
extensions:
  file_storage:
    directory: {directory}
service:
  extensions: [file_storage]
  telemetry:
    metrics: {{address: "127.0.0.1:{metrics_port}"}}
  pipelines:
    logs: {{receivers: [otlp], exporters: [otlp]}}
"""


def _start_agent(config_path, log_path):
    log = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", "collector", "run", "--config", str(config_path)],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def _send_logs(port: int, batches: int, per_batch: int) -> None:
    import grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        export = channel.unary_unary("/opentelemetry.proto.collector.logs.v1.LogsService/Export",
                                     request_serializer=None, response_deserializer=None)
        grpc.channel_ready_future(channel).result(timeout=20)
        for b in range(batches):
            export(logs_request(per_batch, body=f"b{b}").SerializeToString(), timeout=10)


def test_sigkill_with_gateway_down_then_restart_delivers_every_record(tmp_path):
    receiver_port, gateway_port, metrics_port = free_port(), free_port(), free_port()
    config = tmp_path / "agent.yaml"
    config.write_text(textwrap.dedent(AGENT_CONFIG).format(
        receiver_port=receiver_port, gateway_port=gateway_port, metrics_port=metrics_port,
        directory=tmp_path / "storage"))
    (tmp_path / "storage").mkdir()
    log_path = tmp_path / "agent.log"

    agent = _start_agent(config, log_path)
    try:
        _send_logs(receiver_port, batches=40, per_batch=25)  # answered OK once stored on disk
    finally:
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
    assert agent.returncode == -signal.SIGKILL

    sink = Sink(grpc=f"127.0.0.1:{gateway_port}", http=None).start()
    agent = _start_agent(config, log_path)
    try:
        delivered = sink.wait_for(lambda s: s.count("logs") >= 1000, timeout=60)
        assert delivered, f"only {sink.count('logs')} of 1000 records arrived; log:\n{log_path.read_text()[-3000:]}"
        bodies = {lr.body.string_value for m in sink.messages("logs") for rl in m.resource_logs
                  for sl in rl.scope_logs for lr in sl.log_records}
        assert bodies == {f"b{b}-{i}" for b in range(40) for i in range(25)}
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(20)
        finally:
            if agent.poll() is None:
                agent.kill()
        sink.stop()
