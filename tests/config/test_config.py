import pytest

from collector.config import ConfigErrors, load_config, parse_bytesize, parse_duration
from collector.config.loader import expand_env
from collector.config.types import plain
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
    tree = plain(expand_env({"a": "${env:PORT}", "b": "${env:MISSING:-fallback}", "c": "http://${env:HOST}:1", "d": "$${env:X}", "e": "${HOST}"},
                            {"PORT": "4317", "HOST": "gw"}))
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


# --- substitution as the collector does it (confmap) -----------------------------------------

def _cfg(cfg, kind, cid):
    from collector.component import ComponentID
    return getattr(cfg, kind)[ComponentID.parse(cid)].config


def test_whole_value_env_keeps_its_text_in_a_string_field_and_its_type_elsewhere():
    # confmap's ExpandedValue: an API key 0123 or a version 1.10 must not become 83 or 1.1
    text = BASE.replace("fake/2: {label: x}", "fake/2: {label: '${env:KEY}'}").replace(
        "send_batch_size: 100", "send_batch_size: ${env:SIZE}")
    for key in ("0123", "1.10", "true", "0x1F", "[a, b]", "NO"):
        cfg = load(text, env={"KEY": key, "SIZE": "0x10"})
        assert _cfg(cfg, "receivers", "fake/2").label == key
        assert _cfg(cfg, "processors", "batch").send_batch_size == 16


def test_unset_env_without_default_keeps_the_field_default():
    cfg = load(BASE.replace("send_batch_size: 100", "send_batch_size: ${env:UNSET}").replace(
        "fake/2: {label: x}", "fake/2: {label: '${env:UNSET}'}"))
    assert _cfg(cfg, "processors", "batch").send_batch_size == 8192
    assert _cfg(cfg, "receivers", "fake/2").label == ""
    cfg = load(BASE.replace("timeout: 1s", "timeout:"))  # a YAML null too, as mapstructure's nil
    assert _cfg(cfg, "processors", "batch").timeout == 0.2


def test_dollar_escapes_and_nesting_as_the_collector():
    tree = plain(expand_env({"a": "$$ENV", "b": "$$$${ENV}", "c": "$$${env:ENV}", "d": "text$$", "e": "$${env:ENV}",
                             "f": "$ENV", "g": "${env:${ENV}}"}, {"ENV": "v"}))
    assert tree == {"a": "$ENV", "b": "$${ENV}", "c": "$v", "d": "text$", "e": "${env:ENV}", "f": "$ENV", "g": "${env:v}"}


def test_other_config_sources_and_bad_names_are_errors_naming_the_key():
    errs = errors_of(BASE.replace("fake/2: {label: x}", "fake/2: {label: '${file:/run/secret}'}"))
    assert errs == ["receivers.fake/2.label: ${file:/run/secret}: config source 'file' is not supported; "
                    "only ${env:NAME} and ${env:NAME:-default} are"]
    errs = errors_of(BASE.replace("fake/2: {label: x}", "fake/2: {label: 'a${env:hello.world}'}"))
    assert errs[0].startswith("receivers.fake/2.label: ${env:hello.world}: environment variable 'hello.world' has an invalid name")
    # not a reference at all: left as written
    assert expand_env({"x": "s/(a)/${1}/"}, {}) == {"x": "s/(a)/${1}/"}


def test_yaml_scalars_are_typed_as_go_yaml_types_them():
    from collector.config.loader import yaml_load
    assert yaml_load("[yes, no, on, off, NO, 2024-01-01, '1:30', 1:30]") == \
        ["yes", "no", "on", "off", "NO", "2024-01-01", "1:30", "1:30"]
    assert yaml_load("[true, False, ~, null, 0o17, 0123, 0x1F, 1_000, 1e3, .5, -2, .inf]") == \
        [True, False, None, None, 15, 83, 31, 1000, 1000.0, 0.5, -2, float("inf")]


def test_set_values_are_yaml_expand_env_and_merge_maps():
    cfg = load(BASE, sets=["receivers.fake/2.label=${env:L}", "processors.batch.send_batch_size=${env:N}",
                           "processors.batch={send_batch_max_size: 200}"], env={"L": "007", "N": "50"})
    batch = _cfg(cfg, "processors", "batch")
    assert _cfg(cfg, "receivers", "fake/2").label == "007"
    assert (batch.send_batch_size, batch.send_batch_max_size, batch.timeout) == (50, 200, 1.0), "the map is merged"


def test_config_sources_file_env_and_inline_yaml_with_double_colon_keys(tmp_path):
    reg = registry_with_fakes()
    p = tmp_path / "c.yaml"
    p.write_text(BASE)
    cfg = load_config([f"file:{p}", "env:EXTRA", "yaml:processors::batch::send_batch_size: 9"],
                      env={"EXTRA": "receivers: {fake/2: {label: from-env}}"}, registry=reg)
    assert _cfg(cfg, "receivers", "fake/2").label == "from-env"
    assert _cfg(cfg, "processors", "batch").send_batch_size == 9
    with pytest.raises(ConfigErrors, match="config source 'https' is not supported"):
        load_config(["https://example.com/c.yaml"], env={}, registry=reg)
    with pytest.raises(ConfigErrors, match="environment variable NOPE is not set"):
        load_config(["env:NOPE"], env={}, registry=reg)


def test_connectors_section_empty_is_fine_otherwise_a_clear_error():
    load(BASE + "connectors: {}\n")
    errs = errors_of(BASE + "connectors: {forward: {}}\n")
    assert errs == ["connectors: connectors are not supported by this collector (pipelines may share receivers and exporters instead)"]


def test_service_extension_listed_twice_or_undefined():
    errs = errors_of(BASE + "extensions: {health_check: {endpoint: '127.0.0.1:0'}}\n",
                     sets=["service.extensions=[health_check, health_check, file_storage]"])
    assert errs == ["service.extensions[1]: 'health_check' is listed twice",
                    "service.extensions[2]: references extension 'file_storage', which is not defined in extensions"]


def test_sizes_up_to_peta():
    assert parse_bytesize("1PiB") == 1 << 50 and parse_bytesize("2pb") == 2 * 10 ** 15


# --- service.telemetry ------------------------------------------------------------------------

def _metrics(sets):
    return load(BASE, sets=sets).service.telemetry.metrics


def test_self_metrics_endpoint_default_address_and_readers():
    (host, port, prom), = _metrics([]).prometheus_endpoints()
    assert (host, port, prom.suffixes()) == ("127.0.0.1", 8888, (False, False)), "otelcol's default reader: no _total, no units"
    (host, port, prom), = _metrics(["service.telemetry.metrics.address=:9999"]).prometheus_endpoints()
    assert (host, port) == ("0.0.0.0", 9999)
    m = _metrics(["service.telemetry.metrics.readers=[{pull: {exporter: {prometheus: {host: 0.0.0.0, port: 9000}}}}]"])
    (host, port, prom), = m.prometheus_endpoints()
    assert (host, port, prom.suffixes()) == ("0.0.0.0", 9000, (True, True)), "a configured reader adds them, as otelcol's"
    m = _metrics(["service.telemetry.metrics.readers=[{pull: {exporter: {prometheus/development: "
                  "{port: 9001, without_type_suffix: true, without_units: true}}}}]"])
    assert [(h, p, x.suffixes()) for h, p, x in m.prometheus_endpoints()] == [("127.0.0.1", 9001, (False, False))]
    assert _metrics(["service.telemetry.metrics.level=none"]).prometheus_endpoints() == []


def test_unsupported_telemetry_readers_and_levels_are_named():
    errs = errors_of(BASE, sets=["service.telemetry.metrics.readers=[{periodic: {exporter: {otlp: {}}}}]"])
    assert errs[0].startswith("service.telemetry.metrics.readers[0].periodic: periodic readers")
    errs = errors_of(BASE, sets=["service.telemetry.metrics.address=localhost"])
    assert errs[0].startswith("service.telemetry.metrics.address: expected host:port")
    errs = errors_of(BASE, sets=["service.telemetry.logs.level=verbose"])
    assert errs[0].startswith("service.telemetry.logs.level: must be one of 'debug', 'info', 'warn', 'error', 'dpanic'")
    load(BASE, sets=["service.telemetry.logs.level=WARN", "service.telemetry.logs.encoding=json"])


def test_validate_warns_of_unset_env_naming_variable_and_key(tmp_path, capsys):
    from collector.cli import main
    p = tmp_path / "c.yaml"
    p.write_text("""
receivers: {otlp: {protocols: {grpc: {endpoint: "127.0.0.1:4317"}}}}
processors: {batch: {timeout: "${env:SKUBER_TEST_SURELY_UNSET}"}}
exporters: {debug: {}}
service: {pipelines: {traces: {receivers: [otlp], processors: [batch], exporters: [debug]}}}
""")
    assert main(["validate", "--config", f"file:{p}"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["warning: Configuration references unset environment variable "
                   "(key=processors.batch.timeout, variable=SKUBER_TEST_SURELY_UNSET)"]


def test_unset_env_leaves_an_optional_string_unset():
    # confmap: `storage: ${env:STORAGE}` with STORAGE unset is a nil *component.ID, no storage
    from collector.registry import default_registry
    text = """
receivers: {otlp: {protocols: {http: {endpoint: "127.0.0.1:0"}}}}
exporters: {otlp: {endpoint: "127.0.0.1:4317", sending_queue: {storage: "${env:STORAGE}"}}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [otlp]}}}
"""
    cfg = load_config(["yaml:" + text], None, {}, registry=default_registry())
    assert _cfg(cfg, "exporters", "otlp").sending_queue.storage is None
