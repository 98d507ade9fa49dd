import logging

import pytest

from collector.component import CreateSettings, ComponentID, Payload, Refused
from collector.config import ConfigErrors, decode
from collector.processors.memory_limiter import Config, MemoryLimiter
from collector.processors.memory_limiter import memory
from collector.telemetry import Telemetry
from tests.fakes import spans

MIB = 1 << 20


class Sink:
    def __init__(self):
        self.got = []

    def consume(self, p):
        self.got.append(p)
        p.ack(True)


def make(usage, **cfg):
    tel = Telemetry()
    settings = CreateSettings(ComponentID("memory_limiter"), "processor", logging.getLogger("t"), tel.component("processor", "memory_limiter"))
    sink = Sink()
    ml = MemoryLimiter(settings, decode(Config, {"check_interval": "1s", **cfg}), "traces", sink, usage=usage)
    return ml, sink, tel


def test_refuses_above_soft_limit_and_recovers():
    used = [100 * MIB]
    ml, sink, tel = make(lambda: used[0], limit_mib=200, spike_limit_mib=50)
    assert (ml.hard, ml.soft) == (200 * MIB, 150 * MIB)
    ml.check()
    ml.consume(Payload("traces", spans(2)))
    used[0] = 160 * MIB
    ml.check()
    acks = []
    with pytest.raises(Refused):
        ml.consume(Payload("traces", spans(3), [acks.append]))
    assert acks == [False]
    assert tel.value("otelcol_processor_refused_spans_total", {"processor": "memory_limiter"}) == 3
    used[0] = 120 * MIB
    ml.check()
    ml.consume(Payload("traces", spans(1)))
    assert len(sink.got) == 2


def test_spike_defaults_to_a_fifth_of_the_limit():
    ml, _, _ = make(lambda: 0, limit_mib=100)
    assert ml.soft == 80 * MIB


def test_percentage_of_available_memory():
    cfg = decode(Config, {"check_interval": "1s", "limit_percentage": 50, "spike_limit_percentage": 10})
    assert memory.limits(cfg, available=1000 * MIB) == (500 * MIB, 400 * MIB)


def test_cgroup_limits(tmp_path):
    (tmp_path / "memory.max").write_text("max\n")
    assert memory.cgroup_limit_bytes(str(tmp_path)) is None
    (tmp_path / "memory.max").write_text("536870912\n")
    assert memory.cgroup_limit_bytes(str(tmp_path)) == 512 * MIB
    v1 = tmp_path / "v1"
    (v1 / "memory").mkdir(parents=True)
    (v1 / "memory" / "memory.limit_in_bytes").write_text("268435456\n")
    assert memory.cgroup_limit_bytes(str(v1)) == 256 * MIB


@pytest.mark.parametrize("raw,key", [
    ({"limit_mib": 100}, "check_interval"),
    ({"check_interval": "1s"}, "limit_mib"),
    ({"check_interval": "1s", "limit_mib": 100, "spike_limit_mib": 100}, "spike_limit_mib"),
])
def test_config_errors_name_the_key(raw, key):
    with pytest.raises(ConfigErrors) as e:
        decode(Config, raw, "processors.memory_limiter")
    assert str(e.value).startswith(f"processors.memory_limiter.{key}:")


def test_forced_gc_is_throttled_while_soft_limited(monkeypatch):
    import collector.processors.memory_limiter.processor as proc
    calls = []
    monkeypatch.setattr(proc.gc, "collect", lambda: calls.append(1))
    used = [160 * MIB]
    ml, _, _ = make(lambda: used[0], limit_mib=200, spike_limit_mib=50, min_gc_interval_when_soft_limited="1h")
    for _ in range(5):
        ml.check()
    assert len(calls) == 1 and ml.refusing
    used[0] = 250 * MIB  # above hard: min_gc_interval_when_hard_limited (0) applies
    ml.check()
    ml.check()
    assert len(calls) == 3
