"""hostmetrics -> resourcedetection -> otlp exporter -> sink, through the real engine, with the
receiver reading the fixture node through root_path."""
import time

from collector import pdata
from collector.sink import Sink
from collector.testing import start_service
from tests.receivers.hostmetrics.fixture_node import NODE


def test_host_metrics_reach_the_gateway_with_detected_resource(monkeypatch):
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
    monkeypatch.setenv("K8S_NODE_NAME", "worker-1")
    with Sink(grpc="127.0.0.1:0", http=None) as sink:
        svc = start_service(f"""
receivers:
  hostmetrics:
    collection_interval: 100ms
    initial_delay: 0s
    root_path: "{NODE}"
    scrapers: {{cpu: {{}}, memory: {{}}, load: {{}}, disk: {{}}, network: {{}}, paging: {{}}, processes: {{}}, system: {{}}}}
processors:
  resourcedetection:
    detectors: [env, k8snode]
    k8snode: {{resource_attributes: {{k8s.node.uid: {{enabled: false}}}}}}
exporters:
  otlp: {{endpoint: "{sink.grpc_endpoint}", tls: {{insecure: true}}}}
service:
  pipelines: {{metrics: {{receivers: [hostmetrics], processors: [resourcedetection], exporters: [otlp]}}}}
""")
        try:
            assert sink.wait_for(lambda s: s.requests("metrics") >= 2, timeout=15)
        finally:
            svc.shutdown(time.monotonic() + 5)
        req = sink.messages("metrics")[0]
        names = {m.name for rm in req.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
        assert {"system.cpu.time", "system.memory.usage", "system.cpu.load_average.1m",
                "system.disk.io", "system.network.io", "system.paging.usage",
                "system.processes.count", "system.uptime"} <= names
        for rm in req.resource_metrics:
            assert pdata.attrs_to_dict(rm.resource.attributes) == {
                "deployment.environment": "test", "k8s.node.name": "worker-1"}
        load = [m for rm in req.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
                if m.name == "system.cpu.load_average.1m"][0]
        assert load.gauge.data_points[0].as_double == 0.5  # the fixture's /proc/loadavg
