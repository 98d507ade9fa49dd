"""debug exporter: keys, defaults and accepted values as otelcol's debugexporter."""
from __future__ import annotations

import pytest

from collector.config import ConfigErrors, decode
from collector.exporters.debug import Config, DebugExporter


def test_defaults_and_verbosity_in_any_case():
    assert decode(Config, {}) == Config(verbosity="basic", sampling_initial=2, sampling_thereafter=1,
                                        use_internal_logger=True, output_paths=None)
    assert decode(Config, {"verbosity": "Detailed"}).verbosity == "detailed"  # configtelemetry.Level
    assert decode(Config, {"use_internal_logger": False, "output_paths": ["stderr"]}).output_paths == ["stderr"]


@pytest.mark.parametrize("raw,key", [
    ({"verbosity": "none"}, "exporters.debug.verbosity"),
    ({"verbosity": "loud"}, "exporters.debug.verbosity"),
    ({"output_paths": ["stdout"]}, "exporters.debug.output_paths"),        # needs use_internal_logger: false
    ({"use_internal_logger": False, "output_paths": []}, "exporters.debug.output_paths"),
    ({"sampling_initial": -1}, "exporters.debug.sampling_initial"),
])
def test_invalid_values_name_the_key(raw, key):
    with pytest.raises(ConfigErrors) as e:
        decode(Config, raw, "exporters.debug")
    assert any(err.path == key for err in e.value.errors), str(e.value)


def test_sampling_restarts_every_second(monkeypatch):
    import collector.exporters.debug as debug

    now = [100.0]
    monkeypatch.setattr(debug.time, "monotonic", lambda: now[0])
    exp = DebugExporter.__new__(DebugExporter)
    import threading
    exp._lock, exp._seen, exp._second = threading.Lock(), 0, 0
    exp.config = Config(sampling_initial=2, sampling_thereafter=3)
    assert [exp._sampled() for _ in range(6)] == [True, True, False, False, True, False]
    now[0] = 101.0  # a new second: the first two are logged again
    assert [exp._sampled() for _ in range(3)] == [True, True, False]
