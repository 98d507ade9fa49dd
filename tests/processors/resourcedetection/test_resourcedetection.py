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


def test_env_trailing_comma_is_accepted_and_bad_escapes_fail_as_upstream():
    # Upstream's pattern ends each pair at "," or the end; Go's url.QueryUnescape rejects "%zz".
    assert parse_resource_attributes("a=1,b=2,") == {"a": "1", "b": "2"}
    with pytest.raises(ValueError):
        parse_resource_attributes("a=100%")
    with pytest.raises(ValueError):
        parse_resource_attributes("a=%zz")


def test_empty_attributes_list_keeps_every_detected_key():
    p, _ = make({"detectors": ["env"], "attributes": []}, {"OTEL_RESOURCE_ATTRIBUTES": "a=1,b=2"})
    assert dict(p.attributes) == {"a": "1", "b": "2"}


@pytest.mark.parametrize("machine, arch", [("x86_64", "amd64"), ("aarch64", "arm64"),
                                           ("i686", "x86"), ("armv7l", "arm32"),
                                           ("ppc64le", "ppc64"), ("s390x", "s390x")])
def test_host_arch_uses_the_collectors_names(machine, arch):
    cfg = decode(Config, {"system": {"hostname_sources": ["os"],
                                     "resource_attributes": {"host.arch": {"enabled": True}}}})
    uname = platform.uname_result("Linux", "h", "6.1.0", "#1 SMP", machine)
    assert system_detect(cfg.system, {}, LOG, uname=uname, os_hostname="h")["host.arch"] == arch


def test_os_description_and_version_as_the_collector_builds_them(tmp_path):
    cfg = decode(Config, {"system": {"hostname_sources": ["os"], "resource_attributes": {
        "os.description": {"enabled": True}, "os.version": {"enabled": True}}}})
    uname = platform.uname_result("Linux", "h", "6.1.0-18-amd64", "#1 SMP Debian", "x86_64")
    got = system_detect(cfg.system, {"HOST_ETC": str(NODE / "etc")}, LOG, uname=uname, os_hostname="h")
    # NAME + VERSION_ID (the OTel Go SDK prefers them to PRETTY_NAME), then the uname fields.
    assert got["os.description"] == "Debian GNU/Linux 12 (Linux 6.1.0-18-amd64 #1 SMP Debian x86_64)"
    assert got["os.version"] == "12"
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "os-release").write_text('PRETTY_NAME="Some OS"\nID=debian\nVERSION_ID="12"\n')
    (etc / "debian_version").write_text("12.5\n")
    got = system_detect(cfg.system, {"HOST_ETC": str(etc)}, LOG, uname=uname, os_hostname="h")
    assert got["os.description"].startswith("Some OS (Linux ")  # no NAME: PRETTY_NAME
    assert got["os.version"] == "12.5"  # gopsutil's PlatformVersion on Debian


def test_host_cpu_attributes_follow_gopsutil_types(tmp_path):
    from collector.processors.resourcedetection.system_detector import cpu_info

    info = cpu_info({"HOST_PROC": str(NODE / "proc")})
    assert info["host.cpu.stepping"] == "7" and info["host.cpu.cache.l2.size"] == 36608
    assert info["host.cpu.model.id"] == "85" and info["host.cpu.family"] == "6"
    (tmp_path / "cpuinfo").write_text("processor\t: 0\nmodel name\t: ARMv8\n")
    info = cpu_info({"HOST_PROC": str(tmp_path)})
    assert "host.cpu.model.id" not in info  # blank model: left out, as upstream
    assert info["host.cpu.stepping"] == "0" and info["host.cpu.cache.l2.size"] == 0


def test_host_ip_and_mac_skip_down_and_loopback_interfaces(monkeypatch):
    import socket
    from types import SimpleNamespace as NS

    import psutil

    from collector.processors.resourcedetection.system_detector import addresses

    addrs = {"lo": [NS(family=socket.AF_INET, address="127.0.0.1"),
                    NS(family=psutil.AF_LINK, address="00:00:00:00:00:00")],
             "eth0": [NS(family=socket.AF_INET, address="10.0.0.5"),
                      NS(family=socket.AF_INET6, address="fe80::1%eth0"),
                      NS(family=psutil.AF_LINK, address="0a:1b:2c:3d:4e:5f")],
             "eth1": [NS(family=socket.AF_INET, address="10.0.1.5"),
                      NS(family=psutil.AF_LINK, address="aa:bb:cc:dd:ee:ff")]}
    stats = {"lo": NS(isup=True, flags="up,loopback,running"),
             "eth0": NS(isup=True, flags="up,broadcast,running,multicast"),
             "eth1": NS(isup=False, flags="broadcast,multicast")}
    monkeypatch.setattr(psutil, "net_if_addrs", lambda: addrs)
    monkeypatch.setattr(psutil, "net_if_stats", lambda: stats)
    assert addresses() == (["10.0.0.5", "fe80::1"], ["0A-1B-2C-3D-4E-5F"])
