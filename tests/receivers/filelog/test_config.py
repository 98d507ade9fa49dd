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


def test_every_fileconsumer_key_of_otelcol_is_known_with_its_default():
    cfg = decode(Config, {"include": ["a"]})
    assert (cfg.initial_buffer_size, cfg.preserve_leading_whitespaces, cfg.preserve_trailing_whitespaces) == (16384, False, False)
    assert (cfg.include_file_owner_name, cfg.include_file_owner_group_name, cfg.include_file_record_number,
            cfg.include_file_record_offset, cfg.delete_after_read, cfg.acquire_fs_lock, cfg.compression) == \
        (False, False, False, False, False, False, "")
    assert cfg.multiline is None and cfg.header is None and cfg.ordering_criteria is None
    assert cfg.trim() == (True, True)
    # The values otelcol users write that mean "off" decode.
    cfg = decode(Config, {"include": ["a"], "delete_after_read": False, "multiline": {}, "compression": "",
                          "ordering_criteria": {}, "include_file_record_number": False, "acquire_fs_lock": False,
                          "initial_buffer_size": "32KiB", "preserve_leading_whitespaces": True,
                          "include_file_owner_name": True, "include_file_owner_group_name": True,
                          "operators": [{"type": "container", "parse_to": "attributes", "if": None}]})
    assert cfg.trim() == (False, True) and cfg.initial_buffer_size == 32 * 1024


@pytest.mark.parametrize("raw,key", [
    ({"max_concurrent_files": 1}, "receivers.filelog.max_concurrent_files"),   # fileconsumer: > 1
    ({"max_batches": -1}, "receivers.filelog.max_batches"),
    ({"delete_after_read": True, "start_at": "beginning"}, "receivers.filelog.delete_after_read"),
    ({"multiline": {"line_start_pattern": "^Exception"}}, "receivers.filelog.multiline"),
    ({"multiline": {"line_strat_pattern": "x"}}, "receivers.filelog.multiline.line_strat_pattern"),
    ({"header": {"pattern": "^#", "metadata_operators": []}, "start_at": "beginning"}, "receivers.filelog.header"),
    ({"compression": "gzip"}, "receivers.filelog.compression"),
    ({"ordering_criteria": {"regex": "x", "sort_by": [{"sort_type": "numeric"}]}}, "receivers.filelog.ordering_criteria"),
    ({"include_file_record_number": True}, "receivers.filelog.include_file_record_number"),
    ({"acquire_fs_lock": True}, "receivers.filelog.acquire_fs_lock"),
    ({"encoding": "nop"}, "receivers.filelog.encoding"),
    ({"operators": [{"type": "container", "parse_to": "body"}]}, "receivers.filelog.operators[0].parse_to"),
    ({"operators": [{"type": "container", "timestamp": {"parse_from": "attributes.time"}}]},
     "receivers.filelog.operators[0].timestamp"),
])
def test_unsupported_values_are_errors_naming_the_key(raw, key):
    with pytest.raises(ConfigErrors) as e:
        decode(Config, {"include": ["a"], **raw}, "receivers.filelog")
    assert any(err.path == key for err in e.value.errors), str(e.value)


def test_encodings_mapped_as_otelcols_lookup():
    for name in ("ascii", "US-ASCII", "utf8", "utf-8-raw", ""):
        assert decode(Config, {"include": ["a"], "encoding": name}).codec() == "utf-8"
    assert decode(Config, {"include": ["a"], "encoding": "latin1"}).codec() == "iso8859-1"


def test_owner_attributes_of_a_file(tmp_path):
    import grp
    import pwd

    from collector.receivers.filelog.receiver import _owner_attributes

    p = tmp_path / "0.log"
    p.write_text("x\n")
    fd = os.open(p, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        assert _owner_attributes(fd, True, True) == [("log.file.owner.name", pwd.getpwuid(st.st_uid).pw_name),
                                                     ("log.file.owner.group.name", grp.getgrgid(st.st_gid).gr_name)]
        assert _owner_attributes(fd, False, True)[0][0] == "log.file.owner.group.name"
    finally:
        os.close(fd)
