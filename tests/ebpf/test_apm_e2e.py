"""Whole process: `python -m collector run` with the apm receiver exporting OTLP to the sink."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from collector.testing import free_port, wait_until

from .conftest import run_workload, wait_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CONFIG = """
receivers:
  apm:
    collection_interval: 500ms
    attributes: {{kubernetes: {{cluster_name: e2e-cluster}}}}
    routes: {{patterns: ["/status/{{code}}"]}}
exporters:
  otlp: {{endpoint: "127.0.0.1:{grpc}", tls: {{insecure: true}}}}
service:
  telemetry: {{metrics: {{address: "127.0.0.1:{tel}"}}}}
  pipelines:
    metrics: {{receivers: [apm], exporters: [otlp]}}
"""


def _records(path):
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass  # a line being written
    return out


def _points(records, metric):
    """(resource attributes, point) for every data point of metric."""
    for r in records:
        for rm in r["request"].get("resourceMetrics", []):
            res = {a["key"]: next(iter(a["value"].values())) for a in rm["resource"].get("attributes", [])}
            for sm in rm.get("scopeMetrics", []):
                for m in sm.get("metrics", []):
                    if m["name"] == metric:
                        kind = next(k for k in ("histogram", "sum", "gauge") if k in m)
                        for dp in m[kind]["dataPoints"]:
                            yield res, dp


def test_http_metrics_reach_the_gateway_with_cluster_name(tmp_path):
    grpc = free_port()
    out = str(tmp_path / "sink.jsonl")
    sink = subprocess.Popen([sys.executable, "-m", "collector", "sink", "--grpc", f"127.0.0.1:{grpc}",
                             "--http", "off", "--out", out], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cfg = tmp_path / "apm.yaml"
    cfg.write_text(CONFIG.format(grpc=grpc, tel=free_port()))
    log = open(tmp_path / "agent.log", "w+")
    agent = subprocess.Popen([sys.executable, "-m", "collector", "run", "--config", str(cfg)], cwd=ROOT,
                             stdout=log, stderr=subprocess.STDOUT)
    srv = None
    try:
        def loaded():
            log.seek(0)
            text = log.read()
            if "eBPF APM agent disabled" in text:
                pytest.skip("BPF cannot load here: " + text[-300:])
            return "eBPF tracer loaded" in text
        assert wait_until(loaded, timeout=90), "agent did not load"
        srv = run_workload("http_workload.py", "server", str(tmp_path / "port"), 30,
                           env={"OTEL_SERVICE_NAME": "e2e-server"})
        port = int(wait_file(str(tmp_path / "port")))
        time.sleep(0.2)
        cli = run_workload("http_workload.py", "client", port, "200:0:4,503:0:2",
                           env={"OTEL_SERVICE_NAME": "e2e-client"})
        assert cli.wait(60) == 0

        def delivered():
            # cumulative series: the newest request that has the server's points tells all
            for record in reversed(_records(out)):
                counts: dict[str, int] = {}
                for res, dp in _points([record], "http.server.request.duration"):
                    if res.get("service.name") == "e2e-server":
                        assert res["k8s.cluster.name"] == "e2e-cluster"
                        attrs = {a["key"]: next(iter(a["value"].values())) for a in dp["attributes"]}
                        code = str(attrs["http.response.status_code"])
                        counts[code] = counts.get(code, 0) + int(dp["count"])
                if counts:
                    # 4 + the split request + the pipelined pair; 2 failures
                    return counts == {"200": 7, "503": 2}
            return False
        assert wait_until(delivered, timeout=20), open(tmp_path / "agent.log").read()[-2000:]
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(30) == 0
    finally:
        for p in (agent, sink, srv):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(10)
