import pytest

from collector.config import ConfigErrors, load_config, parse_bytesize, parse_duration
from collector.config.loader import expand_env
from tests.fakes import registry_with_fakes

BASE = """
receivers:
  fake: {}
  fake/2: {label: x}
processors:
  batch:
    timeout: 1s
    send_batch_size: 100
exporters:
  fakeexp: {}
service:
  pipelines:
    traces:
      receivers: [fake, fake/2]
      processors: [batch]
      exporters: [fakeexp]
"""


def load(text, sets=None, env=None):
    return load_config(["yaml:" + text], sets, env or {}, registry=registry_with_fakes())


def errors_of(text, sets=None, env=None):
    with pytest.raises(ConfigErrors) as e:
        load(text, sets, env)
    return [str(x) for x in e.value.errors]


def test_valid_config_decodes_typed_values():
    cfg = load(BASE)
    batch = next(iter(cfg.processors.values())).config
    assert batch.timeout == 1.0 and batch.send_batch_size == 100 and batch.send_batch_max_size == 0
    assert [str(c) for c in cfg.receivers] == ["fake", "fake/2"]


@pytest.mark.parametrize("text,expected", [
    ("200ms", 0.2), ("5s", 5.0), ("1m", 60.0), ("1m30s", 90.0), ("1h", 3600.0), ("0", 0.0), (1_000_000_000, 1.0),
])
def test_durations_are_written_as_the_collector_writes_them(text, expected):
    assert parse_duration(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["5", "5 seconds", "s", "1.5.s", 2.5, True])
def test_bad_durations_are_rejected(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("text,expected", [("1kb", 1000), ("1KiB", 1024), ("1MiB", 1 << 20), ("16mib", 16 << 20), (4096, 4096), ("1gb", 10 ** 9)])
def test_sizes(text, expected):
    assert parse_bytesize(text) == expected


def test_unknown_key_is_named_with_its_path():
    errs = errors_of(BASE.replace("send_batch_size: 100", "send_batch_size: 100\n    sendbatchsize: 3"))
    assert len(errs) == 1
    assert errs[0].startswith("processors.batch.sendbatchsize: unknown key")


def test_wrong_type_is_named_with_its_path():
    errs = errors_of(BASE.replace("timeout: 1s", "timeout: soon"))
    assert errs == [errs[0]] and errs[0].startswith("processors.batch.timeout: invalid duration")
    errs = errors_of(BASE.replace("send_batch_size: 100", "send_batch_size: lots"))
    assert errs[0] == "processors.batch.send_batch_size: expected an integer, got str 'lots'"


def test_unknown_component_type():
    errs = errors_of(BASE.replace("fake/2: {label: x}", "nosuch/2: {}"))
    assert any(e.startswith("receivers.nosuch/2: unknown receiver type 'nosuch'") for e in errs)


def test_pipeline_referencing_undefined_component():
    errs = errors_of(BASE.replace("exporters: [fakeexp]", "exporters: [fakeexp, otlp/missing]"))
    assert errs == ["service.pipelines.traces.exporters[1]: references exporter 'otlp/missing', which is not defined in exporters"]


def test_receiver_that_cannot_serve_the_signal():
    text = BASE.replace("  fake: {}", "  fake: {}\n  fakelogs: {}").replace("receivers: [fake, fake/2]", "receivers: [fakelogs]")
    assert errors_of(text) == ["service.pipelines.traces.receivers[0]: receiver 'fakelogs' does not support traces (it supports logs)"]


def test_validation_error_from_component_validate():
    errs = errors_of(BASE.replace("send_batch_size: 100", "send_batch_size: 100\n    send_batch_max_size: 10"))
    assert errs == ["processors.batch.send_batch_max_size: must be greater or equal to send_batch_size"]


def test_every_problem_is_reported_at_once():
    text = BASE.replace("timeout: 1s", "timeout: x").replace("exporters: [fakeexp]", "exporters: [nope]")
    assert len(errors_of(text)) == 2


def test_pipeline_needs_known_signal_and_receivers():
    errs = errors_of(BASE.replace("    traces:\n", "    spans:\n"))
    assert any(e.startswith("service.pipelines.spans: unknown signal 'spans'") for e in errs)


def test_env_substitution_with_default_and_type():
    tree = expand_env({"a": "${env:PORT}", "b": "${env:MISSING:-fallback}", "c": "http://${env:HOST}:1", "d": "$${env:X}", "e": "${HOST}"},
                      {"PORT": "4317", "HOST": "gw"})
    assert tree == {"a": 4317, "b": "fallback", "c": "http://gw:1", "d": "${env:X}", "e": "gw"}


def test_env_substitution_in_config():
    cfg = load(BASE.replace("send_batch_size: 100", "send_batch_size: ${env:SIZE:-7}"), env={"SIZE": "42"})
    assert next(iter(cfg.processors.values())).config.send_batch_size == 42
    cfg = load(BASE.replace("send_batch_size: 100", "send_batch_size: ${env:SIZE:-7}"))
    assert next(iter(cfg.processors.values())).config.send_batch_size == 7


def test_set_overrides_by_dotted_path():
    cfg = load(BASE, sets=["processors.batch.send_batch_size=5", "processors::batch::timeout=3s", "receivers.fake/2.label=y"])
    batch = next(iter(cfg.processors.values())).config
    assert (batch.send_batch_size, batch.timeout) == (5, 3.0)
    assert [c.config.label for c in cfg.receivers.values()] == ["", "y"]


def test_set_override_errors_are_named():
    errs = errors_of(BASE, sets=["processors.batch.timeout=never"])
    assert errs[0].startswith("processors.batch.timeout:")
    errs = errors_of(BASE, sets=["nonsense"])
    assert errs[0].startswith("--set: expected key=value")


def test_invalid_yaml_names_the_line(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("receivers:\n  fake: {\n")
    with pytest.raises(ConfigErrors) as e:
        load_config([str(p)], registry=registry_with_fakes())
    assert "invalid YAML at line" in str(e.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigErrors) as e:
        load_config([str(tmp_path / "nope.yaml")], registry=registry_with_fakes())
    assert "cannot read config file" in str(e.value)


def test_several_files_are_merged(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(BASE)
    b.write_text("processors:\n  batch:\n    send_batch_size: 9\n")
    cfg = load_config([str(a), str(b)], registry=registry_with_fakes())
    batch = next(iter(cfg.processors.values())).config
    assert (batch.send_batch_size, batch.timeout) == (9, 1.0)
