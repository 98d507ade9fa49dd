"""resourcedetection: config keys, the env/system/k8snode detectors, merge and override."""
import logging
import platform
import time
from pathlib import Path

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from collector import pdata
from collector.component import ComponentID, CreateSettings, Payload
from collector.config import ConfigErrors, decode
from collector.processors.resourcedetection import factory
from collector.processors.resourcedetection.config import Config
from collector.processors.resourcedetection.env_detector import parse_resource_attributes
from collector.processors.resourcedetection.processor import ResourceDetectionProcessor
from collector.processors.resourcedetection.system_detector import detect as system_detect
from collector.processors.resourcedetection.system_detector import hostname_from
from collector.telemetry import Telemetry

NODE = Path(__file__).resolve().parents[2] / "fixtures" / "hostmetrics" / "node"
LOG = logging.getLogger("collector.processor.resourcedetection")


class Sink:
    def __init__(self):
        self.payloads = []

    def consume(self, payload):
        self.payloads.append(payload)


def make(raw, environ, signal="metrics"):
    cfg = decode(Config, raw, "processors.resourcedetection")
    settings = CreateSettings(ComponentID("resourcedetection"), "processor", LOG,
                              Telemetry().component("processor", "resourcedetection"))
    sink = Sink()
    p = ResourceDetectionProcessor(settings, cfg, signal, sink, environ=environ)
    p.start(host=None)
    return p, sink


def metrics_request(*resource_attrs: dict):
    req = ExportMetricsServiceRequest()
    for attrs in resource_attrs:
        rm = req.resource_metrics.add()
        for k, v in attrs.items():
            pdata.set_attr(rm.resource.attributes, k, v)
    return req


def test_defaults_match_the_collector():
    cfg = decode(Config, {})
    assert cfg.detectors == ["env"] and cfg.override is True and cfg.timeout == 5.0
    assert cfg.system.hostname_sources == ["dns", "os"]
    assert cfg.k8snode.node_from_env_var == "K8S_NODE_NAME"


@pytest.mark.parametrize("raw, path", [
    ({"detectors": ["env", "gcp"]}, "p.detectors[1]"),
    ({"system": {"hostname_sources": ["nis"]}}, "p.system.hostname_sources"),
    ({"system": {"resource_attributes": {"host.nope": {"enabled": True}}}},
     "p.system.resource_attributes.host.nope"),
    ({"env": {"x": 1}}, "p.env.x"),
    ({"bogus": True}, "p.bogus"),
])
def test_bad_config_names_the_key(raw, path):
    with pytest.raises(ConfigErrors) as e:
        decode(Config, raw, "p")
    assert any(err.path == path for err in e.value.errors), str(e.value)


def test_env_attributes_are_parsed_and_unescaped():
    assert parse_resource_attributes(" a = b%2Cc , team=x+y,empty= ") == {"a": "b,c", "team": "x y", "empty": ""}
    with pytest.raises(ValueError):
        parse_resource_attributes("a=b,broken")


def test_env_system_and_k8snode_detected_in_priority_order(monkeypatch):
    monkeypatch.setattr("socket.gethostname", lambda: "node-a")
    env = {"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod,host.name=from-env",
           "K8S_NODE_NAME": "worker-7", "HOST_ETC": str(NODE / "etc"),
           "HOST_PROC": str(NODE / "proc")}
    p, sink = make({"detectors": ["env", "system", "k8snode"],
                    "system": {"hostname_sources": ["os"],
                               "resource_attributes": {"host.id": {"enabled": True},
                                                       "host.cpu.model.name": {"enabled": True}}},
                    "k8snode": {"resource_attributes": {"k8s.node.uid": {"enabled": False}}}}, env)
    p.consume(Payload("metrics", metrics_request({"service.name": "svc"})))
    got = pdata.attrs_to_dict(sink.payloads[0].request.resource_metrics[0].resource.attributes)
    assert got == {
        "service.name": "svc",
        "deployment.environment": "prod",
        "host.name": "from-env",           # env is listed first: it wins over system
        "os.type": platform.system().lower(),
        "host.id": "4c4c4544004d3910804cb4c04f4e3633",   # HOST_ETC/machine-id
        "host.cpu.model.name": "Intel(R) Xeon(R) Fake CPU @ 2.50GHz",
        "k8s.node.name": "worker-7",        # from the downward-API env var
    }


def test_override_false_keeps_the_datas_own_values():
    env = {"OTEL_RESOURCE_ATTRIBUTES": "host.name=detected,zone=a"}
    p, sink = make({"detectors": ["env"], "override": False}, env)
    p.consume(Payload("metrics", metrics_request({"host.name": "mine"}, {})))
    first, second = (pdata.attrs_to_dict(rm.resource.attributes)
                     for rm in sink.payloads[0].request.resource_metrics)
    assert first == {"host.name": "mine", "zone": "a"}
    assert second == {"host.name": "detected", "zone": "a"}
    p2, sink2 = make({"detectors": ["env"], "override": True}, env)
    p2.consume(Payload("metrics", metrics_request({"host.name": "mine"})))
    assert pdata.attrs_to_dict(sink2.payloads[0].request.resource_metrics[0].resource.attributes)[
        "host.name"] == "detected"


def test_every_signal_is_enriched():
    p, sink = make({"detectors": ["env"]}, {"OTEL_RESOURCE_ATTRIBUTES": "k=v"}, signal="logs")
    req = ExportLogsServiceRequest()
    req.resource_logs.add()
    p.consume(Payload("logs", req))
    assert pdata.attrs_to_dict(sink.payloads[0].request.resource_logs[0].resource.attributes) == {"k": "v"}


def test_a_failing_detector_does_not_stop_the_others(caplog):
    with caplog.at_level(logging.WARNING):
        p, sink = make({"detectors": ["k8snode", "env"]}, {"OTEL_RESOURCE_ATTRIBUTES": "a=1"})
    assert dict(p.attributes) == {"a": "1"}
    assert any("K8S_NODE_NAME" in r.getMessage() for r in caplog.records)
    broken, _ = make({"detectors": ["env"]}, {"OTEL_RESOURCE_ATTRIBUTES": "broken"})
    assert broken.attributes == []  # a malformed variable yields nothing, not half of it


def test_a_detector_that_crashes_is_logged_and_the_others_still_apply(monkeypatch, caplog):
    import collector.processors.resourcedetection.processor as proc

    def crash(config, environ, log):
        raise RuntimeError("psutil blew up")

    monkeypatch.setattr(proc.system_detector, "detect", crash)
    with caplog.at_level(logging.WARNING):
        p, _ = make({"detectors": ["system", "env"]}, {"OTEL_RESOURCE_ATTRIBUTES": "a=1"})
    assert dict(p.attributes) == {"a": "1"}
    assert "psutil blew up" in caplog.text


def test_attributes_filter_keeps_only_listed_keys():
    p, _ = make({"detectors": ["env"], "attributes": ["a"]}, {"OTEL_RESOURCE_ATTRIBUTES": "a=1,b=2"})
    assert dict(p.attributes) == {"a": "1"}


def test_detection_is_bounded_by_timeout(monkeypatch):
    import collector.processors.resourcedetection.processor as proc

    monkeypatch.setattr(proc.env_detector, "detect", lambda environ: time.sleep(3) or {"a": "1"})
    t0 = time.monotonic()
    p, _ = make({"detectors": ["env"], "timeout": "200ms"}, {})
    assert time.monotonic() - t0 < 2 and p.attributes == []


def test_hostname_sources_fall_through_in_order(monkeypatch):
    import socket

    def no_dns(*a, **k):
        raise socket.gaierror("no resolver")
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    assert hostname_from(["dns", "os"], "box") == "box"
    with pytest.raises(OSError):
        hostname_from(["dns", "lookup"], "box")


def test_system_defaults_are_host_name_and_os_type_only(monkeypatch):
    cfg = decode(Config, {"system": {"hostname_sources": ["os"]}})
    got = system_detect(cfg.system, {}, LOG, os_hostname="h1")
    assert got == {"host.name": "h1", "os.type": platform.system().lower()}


def test_factory_is_registered():
    from collector.registry import default_registry

    assert default_registry().get("processor", "resourcedetection") is factory
    assert factory.signals == frozenset({"logs", "metrics", "traces"})
