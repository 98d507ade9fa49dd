import logging
import time

import pytest

from collector.component import AckJoin, Payload, Refused
from collector.config import load_config
from collector.engine import Service
from tests.fakes import FakeExporter, FakeReceiver, logs, registry_with_fakes, spans


def service(text):
    FakeReceiver.instances.clear()
    FakeExporter.instances.clear()
    return Service(load_config(["yaml:" + text], [], {}, registry=registry_with_fakes()))


TWO_PIPELINES = """
receivers: {fake: {}}
processors:
  resource/a: {attributes: [{key: pipeline, value: a, action: upsert}]}
  resource/b: {attributes: [{key: pipeline, value: b, action: upsert}]}
exporters: {fakeexp/a: {}, fakeexp/b: {}, fakeexp/both: {}}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces/a: {receivers: [fake], processors: [resource/a], exporters: [fakeexp/a, fakeexp/both]}
    traces/b: {receivers: [fake], processors: [resource/b], exporters: [fakeexp/b, fakeexp/both]}
"""


def test_one_receiver_feeds_two_pipelines_each_with_its_own_copy():
    svc = service(TWO_PIPELINES)
    svc.start()
    try:
        assert len(FakeReceiver.instances) == 1, "a receiver shared by pipelines is one instance"
        done, outcome = FakeReceiver.instances[0].send("traces", spans(3))
        assert done.wait(2) and outcome == [True]
        ex = FakeExporter.instances
        got = {k: [kv.value.string_value for p in e.received for rs in p.request.resource_spans for kv in rs.resource.attributes if kv.key == "pipeline"]
               for k, e in ex.items()}
        assert got["fakeexp/a"] == ["a"] and got["fakeexp/b"] == ["b"]
        assert sorted(got["fakeexp/both"]) == ["a", "b"], "the shared exporter gets both pipelines' copies"
    finally:
        svc.shutdown(time.monotonic() + 2)


def test_ack_is_false_when_any_exporter_did_not_deliver():
    svc = service(TWO_PIPELINES.replace("fakeexp/b: {}", "fakeexp/b: {fail: nack}"))
    svc.start()
    try:
        done, outcome = FakeReceiver.instances[0].send("traces", spans(1))
        assert done.wait(2) and outcome == [False]
    finally:
        svc.shutdown(time.monotonic() + 2)


def test_refusal_reaches_the_receiver_and_acks_once():
    svc = service(TWO_PIPELINES.replace("fakeexp/b: {}", "fakeexp/b: {fail: refuse}"))
    svc.start()
    try:
        with pytest.raises(Refused):
            FakeReceiver.instances[0].send("traces", spans(1))
        # the other pipeline still got the data (as the Go fan-out does)
        assert len(FakeExporter.instances["fakeexp/a"].received) == 1
    finally:
        svc.shutdown(time.monotonic() + 2)


def test_lifecycle_order_and_ready_log(caplog):
    svc = service(TWO_PIPELINES.replace("fakeexp/b: {}", "fakeexp/b: {connect: false}"))
    with caplog.at_level(logging.INFO, logger="collector.service"):
        svc.start()
        assert svc.state == "running"
        assert "Everything is ready" not in caplog.text, "an exporter has not connected yet"
        svc.report_status("fakeexp/b", True, "connected")
        assert caplog.text.count("Everything is ready") == 1
        svc.report_status("fakeexp/b", True, "connected")
        assert caplog.text.count("Everything is ready") == 1
    svc.shutdown(time.monotonic() + 2)
    assert svc.state == "stopped"
    assert FakeReceiver.instances[0].stopped and all(e.stopped for e in FakeExporter.instances.values())


def test_get_extension_names_missing_id():
    svc = service(TWO_PIPELINES)
    with pytest.raises(KeyError, match="file_storage/x"):
        svc.get_extension("file_storage/x")


def test_ack_join_fires_parents_once_all_parts_report():
    got = []
    join = AckJoin(3, [got.append])
    a, b, c = join.parts()
    a(True)
    b(True)
    b(False)  # a duplicate ack is ignored
    assert got == []
    c(True)
    assert got == [True]
    got2 = []
    x, y = AckJoin(2, [got2.append]).parts()
    x(False)
    y(True)
    assert got2 == [False]


def test_payload_ack_fires_each_callback_once():
    got = []
    p = Payload("logs", logs(1), [got.append, got.append])
    p.ack(True)
    p.ack(False)
    assert got == [True, True]


def test_self_metrics_count_sent_items():
    svc = service(TWO_PIPELINES)
    svc.start()
    try:
        FakeReceiver.instances[0].send("traces", spans(4))
        assert svc.telemetry.value("otelcol_exporter_sent_spans_total", {"exporter": "fakeexp/both"}) == 8
    finally:
        svc.shutdown(time.monotonic() + 2)


def test_self_metrics_text_has_otelcol_names_and_no_created_series():
    from prometheus_client import generate_latest
    svc = service(TWO_PIPELINES)
    svc.start()
    try:
        FakeReceiver.instances[0].send("traces", spans(2))
        text = generate_latest(svc.telemetry.registry).decode()
        assert 'otelcol_exporter_sent_spans_total{exporter="fakeexp/a"} 2.0' in text
        assert "otelcol_process_memory_rss" in text
        assert "_created" not in text
    finally:
        svc.shutdown(time.monotonic() + 2)


def test_exposition_names_as_otelcol_default_reader_and_with_suffixes():
    from collector.telemetry import Telemetry, exposition
    t = Telemetry()
    t.set_resource({"deployment.environment.name": "test", "service.instance.id": None})
    t.component("receiver", "otlp").receiver_accepted("traces", 3, "grpc")
    text = exposition(t).decode()
    assert 'otelcol_receiver_accepted_spans{receiver="otlp",transport="grpc"} 3.0' in text
    assert "# HELP otelcol_receiver_accepted_spans Number of spans successfully pushed into the pipeline." in text
    assert "# TYPE otelcol_process_uptime counter" in text and "_total" not in text
    assert 'target_info{deployment_environment_name="test",service_name="skuber-collector",service_version="0.1.0"} 1' in text
    text = exposition(t, type_suffix=True, units=True, resource_labels=("service.name",)).decode()
    assert 'otelcol_receiver_accepted_spans_total{receiver="otlp",service_name="skuber-collector",transport="grpc"} 3.0' in text
    assert "# TYPE otelcol_process_uptime_seconds_total counter" in text
    assert "otelcol_process_memory_rss_bytes{" in text and "otelcol_process_cpu_seconds_total{" in text


def test_metrics_server_serves_metrics_path_only():
    import urllib.error
    import urllib.request
    from collector.telemetry import MetricsServer, Telemetry
    server = MetricsServer(Telemetry(), "127.0.0.1", 0).start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as r:
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            assert b"otelcol_process_memory_rss" in r.read()
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=5)
        assert e.value.code == 404
    finally:
        server.shutdown()


def test_logging_outputs_json_like_zap_with_initial_fields(tmp_path):
    import json
    from collector.logs import setup_logging
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    path = tmp_path / "collector.log"
    try:
        setup_logging("warn", "json", output_paths=[f"file:{path}"], initial_fields={"role": "agent"})
        logging.getLogger("collector.test").info("not shown")
        logging.getLogger("collector.test").warning("careful", extra={"n": 1})
        for h in root.handlers:
            h.flush()
        (line,) = path.read_text().splitlines()
        rec = json.loads(line)
        assert (rec["level"], rec["msg"], rec["n"], rec["role"]) == ("warn", "careful", 1, "agent")
        assert rec["ts"].endswith("Z") and "T" in rec["ts"], "zap's ISO8601 time, as otelcol"
        with pytest.raises(OSError):
            setup_logging(output_paths=[str(tmp_path / "no" / "such" / "dir.log")])
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
            h.close()
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
