"""Config keys and defaults as otelcol-contrib's filelog receiver; errors name the key."""
import os
import subprocess
import sys

import pytest
import yaml

from collector.config import ConfigErrors, decode
from collector.receivers.filelog import Config, factory
from collector.receivers.filelog.config import ContainerOperator, RetryOnFailure

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


def load(name):
    with open(os.path.join(HERE, "testdata", "config.yaml")) as f:
        return decode(Config, yaml.safe_load(f)[name], f"receivers.{name}")


def test_defaults_match_the_collector():
    assert load("filelog") == Config(
        include=["/var/log/pods/*/*/*.log"], exclude=[], exclude_older_than=0.0, start_at="end",
        poll_interval=0.2, fingerprint_size=1000, max_log_size=1024 * 1024, max_concurrent_files=1024,
        max_batches=0, encoding="utf-8", include_file_name=True, include_file_path=False,
        include_file_name_resolved=False, include_file_path_resolved=False, force_flush_period=0.5,
        storage=None, retry_on_failure=RetryOnFailure(False, 1.0, 30.0, 300.0), operators=[],
        attributes={}, resource={})
    assert factory.type == "filelog" and factory.signals == frozenset({"logs"})


def test_helm_chart_style_config():
    cfg = load("filelog/helm")
    assert cfg == Config(
        include=["/var/log/pods/*/*/*.log"],
        exclude=["/var/log/pods/skuber-observability_skuber-otel-agent*_*/otel-collector/*.log"],
        start_at="beginning", include_file_path=True, include_file_name=False, poll_interval=0.5,
        fingerprint_size=2048, max_log_size=512000, max_concurrent_files=64, encoding="utf8",
        force_flush_period=1.0, storage="file_storage/checkpoints",
        retry_on_failure=RetryOnFailure(True, 2.0, 60.0, 600.0),
        attributes={"team": "payments"}, resource={"k8s.cluster.name": "prod-1"},
        operators=[{"type": "container", "id": "container-parser", "max_log_size": 102400}])
    assert cfg.container_operator() == ContainerOperator(id="container-parser", max_log_size=102400)
    assert cfg.codec() == "utf-8"


@pytest.mark.parametrize("raw,key", [
    ({"include": ["a"], "poll_intervall": "1s"}, "receivers.filelog.poll_intervall"),
    ({}, "receivers.filelog.include"),
    ({"include": ["a"], "start_at": "middle"}, "receivers.filelog.start_at"),
    ({"include": ["a"], "fingerprint_size": 8}, "receivers.filelog.fingerprint_size"),
    ({"include": ["a"], "encoding": "utf-16le"}, "receivers.filelog.encoding"),
    ({"include": ["a"], "encoding": "klingon"}, "receivers.filelog.encoding"),
    ({"include": ["a"], "operators": [{"type": "regex_parser"}]}, "receivers.filelog.operators[0].type"),
    ({"include": ["a"], "operators": [{"type": "container", "format": "podman"}]},
     "receivers.filelog.operators[0].format"),
    ({"include": ["a"], "operators": [{"type": "container", "colour": 1}]},
     "receivers.filelog.operators[0].colour"),
    ({"include": ["a"], "retry_on_failure": {"initial_interval": "0s"}},
     "receivers.filelog.retry_on_failure.initial_interval"),
])
def test_bad_config_names_the_key(raw, key):
    with pytest.raises(ConfigErrors) as e:
        decode(Config, raw, "receivers.filelog")
    assert any(err.path == key for err in e.value.errors), str(e.value)


def test_validate_command_names_an_unknown_key(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("""
receivers:
  filelog: {include: [/tmp/none/*.log], bogus_key: 1, operators: [{type: container}]}
exporters:
  debug: {}
service:
  pipelines:
    logs: {receivers: [filelog], exporters: [debug]}
""")
    out = subprocess.run([sys.executable, "-m", "collector", "validate", "--config", str(cfg)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode != 0
    assert "receivers.filelog.bogus_key" in out.stdout + out.stderr
