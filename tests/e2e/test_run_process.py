"""Whole-process tests of `python -m collector run`: real OTLP clients in, the sink out."""
import os
import subprocess
import sys
import time

import pytest

from collector.sink import Sink
from collector.testing import free_port
from tests.e2e.agent_process import ROOT, AgentProcess

CONFIG = """
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:{grpc}"}}
      http: {{endpoint: "127.0.0.1:{http}"}}
processors:
  memory_limiter: {{check_interval: 1s, limit_mib: 2000}}
  batch: {{timeout: {batch_timeout}, send_batch_size: 100000}}
exporters:
  otlp:
    endpoint: "{sink}"
    tls: {{insecure: true}}
    compression: {compression}
extensions:
  health_check: {{endpoint: "127.0.0.1:{health}"}}
service:
  extensions: [health_check]
  telemetry: {{metrics: {{address: "127.0.0.1:{metrics}"}}}}
  pipelines:
    traces: {{receivers: [otlp], processors: [memory_limiter, batch], exporters: [otlp]}}
    metrics: {{receivers: [otlp], processors: [memory_limiter, batch], exporters: [otlp]}}
    logs: {{receivers: [otlp], processors: [memory_limiter, batch], exporters: [otlp]}}
"""


@pytest.fixture
def sink():
    s = Sink(grpc="127.0.0.1:0", http="127.0.0.1:0")
    s.start()
    yield s
    s.stop()


def write_config(tmp_path, sink, batch_timeout="200ms", compression="gzip"):
    ports = dict(grpc=free_port(), http=free_port(), health=free_port(), metrics=free_port())
    path = tmp_path / "agent.yaml"
    path.write_text(CONFIG.format(sink=sink.grpc_endpoint, batch_timeout=batch_timeout, compression=compression, **ports))
    return path, ports


def test_sigterm_flushes_everything_and_exits_zero(tmp_path, sink):
    # A long batch timeout: only the shutdown flush can deliver these spans.
    path, ports = write_config(tmp_path, sink, batch_timeout="1h")
    agent = AgentProcess(path).start()
    try:
        assert agent.wait_for_line("Everything is ready", 30), agent.output
        from tests.fakes import spans
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
        import grpc
        with grpc.insecure_channel(f"127.0.0.1:{ports['grpc']}") as ch:
            stub = trace_service_pb2_grpc.TraceServiceStub(ch)
            for _ in range(5):
                stub.Export(spans(100), timeout=10)
        time.sleep(0.3)
        assert sink.count("traces") == 0, "held by the batch processor until shutdown"
        rc, took = agent.terminate()
        assert rc == 0, agent.output
        assert took < 12
        assert sink.count("traces") == 500
    finally:
        agent.kill()


def test_opentelemetry_sdk_clients_reach_the_gateway_unchanged(tmp_path, sink):
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    path, ports = write_config(tmp_path, sink)
    agent = AgentProcess(path).start()
    try:
        assert agent.wait_for_line("Everything is ready", 30), agent.output
        grpc_ep, http_ep = f"http://127.0.0.1:{ports['grpc']}", f"http://127.0.0.1:{ports['http']}"
        resource = Resource.create({"service.name": "checkout", "deployment.environment.name": "test"})

        tp = TracerProvider(resource=resource)
        tp.add_span_processor(SimpleSpanProcessor(GrpcSpanExporter(endpoint=grpc_ep, insecure=True)))
        tp.add_span_processor(SimpleSpanProcessor(HttpSpanExporter(endpoint=f"{http_ep}/v1/traces")))
        tracer = tp.get_tracer("e2e")
        ids = []
        for i in range(10):
            with tracer.start_as_current_span(f"op-{i}", attributes={"i": i, "user": "ada"}) as span:
                ctx = span.get_span_context()
                ids.append((ctx.trace_id.to_bytes(16, "big"), ctx.span_id.to_bytes(8, "big")))
        tp.shutdown()

        reader = PeriodicExportingMetricReader(GrpcMetricExporter(endpoint=grpc_ep, insecure=True), export_interval_millis=60000)
        mp = MeterProvider(resource=resource, metric_readers=[reader])
        counter = mp.get_meter("e2e").create_counter("orders", unit="1")
        counter.add(5, {"region": "eu"})
        counter.add(2, {"region": "us"})
        mp.force_flush()
        mp.shutdown()

        lp = LoggerProvider(resource=resource)
        lp.add_log_record_processor(SimpleLogRecordProcessor(GrpcLogExporter(endpoint=grpc_ep, insecure=True)))
        lp.add_log_record_processor(SimpleLogRecordProcessor(HttpLogExporter(endpoint=f"{http_ep}/v1/logs")))
        from opentelemetry._logs import LogRecord, SeverityNumber
        logger = lp.get_logger("e2e")
        for i in range(3):
            logger.emit(LogRecord(body=f"hello {i}", severity_number=SeverityNumber.WARN, attributes={"n": i}))
        lp.shutdown()

        assert sink.wait_for(lambda s: s.count("traces") >= 20 and s.count("logs") >= 6 and s.count("metrics") >= 2, 20), \
            (sink.count("traces"), sink.count("logs"), sink.count("metrics"))
        got_spans = [sp for m in sink.messages("traces") for rs in m.resource_spans for ss in rs.scope_spans for sp in ss.spans]
        assert sorted(s.name for s in got_spans) == sorted([f"op-{i}" for i in range(10)] * 2)
        assert sorted((s.trace_id, s.span_id) for s in got_spans) == sorted(ids * 2)
        attrs = {kv.key: kv.value for kv in got_spans[0].attributes}
        assert attrs["user"].string_value == "ada"
        res = {kv.key: kv.value.string_value for m in sink.messages("traces") for rs in m.resource_spans for kv in rs.resource.attributes}
        assert res["service.name"] == "checkout"
        points = {tuple(kv.value.string_value for kv in p.attributes): p.as_int
                  for m in sink.messages("metrics") for rm in m.resource_metrics for sm in rm.scope_metrics
                  for met in sm.metrics if met.name == "orders" for p in met.sum.data_points}
        assert points == {("eu",): 5, ("us",): 2}
        bodies = sorted(r.body.string_value for m in sink.messages("logs") for rl in m.resource_logs for sl in rl.scope_logs for r in sl.log_records)
        assert bodies == sorted([f"hello {i}" for i in range(3)] * 2)
        rc, _ = agent.terminate()
        assert rc == 0
    finally:
        agent.kill()


def test_unreachable_gateway_is_reported_plainly(tmp_path):
    dead = free_port()
    ports = dict(grpc=free_port(), http=free_port(), health=free_port(), metrics=free_port())
    path = tmp_path / "agent.yaml"
    path.write_text(CONFIG.format(sink=f"127.0.0.1:{dead}", batch_timeout="200ms", compression="none", **ports))
    agent = AgentProcess(path).start()
    try:
        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
        from tests.fakes import spans
        assert agent.wait_for_line("Everything started", 30), agent.output
        with grpc.insecure_channel(f"127.0.0.1:{ports['grpc']}") as ch:
            trace_service_pb2_grpc.TraceServiceStub(ch).Export(spans(1), timeout=10)
        assert agent.wait_for_line("connection refused", 30), agent.output
        assert f"127.0.0.1:{dead}" in [l for l in agent.lines if "connection refused" in l][0]
        assert "Everything is ready" not in agent.output
        rc, _ = agent.terminate()
        assert rc == 0
    finally:
        agent.kill()


def test_validate_command_names_each_bad_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("""
receivers: {otlp: {protocols: {grpc: {endpont: "127.0.0.1:4317"}}}}
processors: {batch: {timeout: later}}
exporters: {otlp: {endpoint: "gw:4317"}}
service: {pipelines: {traces: {receivers: [otlp], processors: [batch], exporters: [otlp, debug]}}}
""")
    r = subprocess.run([sys.executable, "-m", "collector", "validate", "--config", str(bad)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": ROOT})
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert any("receivers.otlp.protocols.grpc.endpont: unknown key" in l for l in lines), lines
    assert any("processors.batch.timeout: invalid duration" in l for l in lines), lines
    assert any("service.pipelines.traces.exporters[1]" in l and "debug" in l for l in lines), lines
    assert len(lines) == 3, lines
    good = tmp_path / "good.yaml"
    good.write_text(bad.read_text().replace("endpont", "endpoint").replace("later", "1s").replace(", debug", ""))
    r = subprocess.run([sys.executable, "-m", "collector", "validate", "--config", str(good)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": ROOT})
    assert r.returncode == 0, r.stderr


def test_otelcol_style_invocation_self_metrics_and_sigint(tmp_path, sink):
    # `otelcol --config FILE` runs without a subcommand; SIGINT exits 0 like SIGTERM; :8888 has
    # otelcol's names (no _total with the default reader).
    import signal
    import urllib.request
    path, ports = write_config(tmp_path, sink)
    agent = AgentProcess(path, command=()).start()
    try:
        assert agent.wait_for_line("Everything is ready", 30), agent.output
        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
        from tests.fakes import spans
        with grpc.insecure_channel(f"127.0.0.1:{ports['grpc']}") as ch:
            trace_service_pb2_grpc.TraceServiceStub(ch).Export(spans(3), timeout=10)
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['metrics']}/metrics", timeout=10) as r:
            text = r.read().decode()
        assert 'otelcol_receiver_accepted_spans{receiver="otlp",transport="grpc"} 3.0' in text, text
        assert "otelcol_process_uptime " in text
        rc, took = agent.terminate(sig=signal.SIGINT)
        assert rc == 0 and took < 12, agent.output
    finally:
        agent.kill()


def test_shutdown_watchdog_ends_a_stuck_process():
    code = ("import time, logging; from collector.cli import _exit_if_stuck; "
            "_exit_if_stuck(0.2); time.sleep(30)")
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": ROOT})
    assert r.returncode == 1 and time.monotonic() - t0 < 20
    assert "shutdown did not finish within" in r.stderr
