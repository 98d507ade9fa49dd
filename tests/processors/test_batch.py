import time

from collector import pdata
from collector.testing import wait_until
from tests.engine.test_service import service
from tests.fakes import FakeExporter, FakeReceiver, spans

CFG = """
receivers: {fake: {}}
processors: {batch: {timeout: %s, send_batch_size: %d, send_batch_max_size: %d}}
exporters: {fakeexp: {}}
service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [fake], processors: [batch], exporters: [fakeexp]}}
"""


def run(timeout="10s", size=10, max_size=0):
    svc = service(CFG % (timeout, size, max_size))
    svc.start()
    return svc, FakeReceiver.instances[0], FakeExporter.instances["fakeexp"]


def test_size_trigger_merges_payloads_and_keeps_every_ack():
    svc, rx, ex = run(size=10)
    try:
        results = [rx.send("traces", spans(4, name=f"p{i}")) for i in range(3)]
        assert len(ex.received) == 1, "12 items >= 10 triggers one send"
        assert pdata.count_items("traces", ex.received[0].request) == 12
        assert all(done.is_set() and out == [True] for done, out in results)
    finally:
        svc.shutdown(time.monotonic() + 2)


def test_timeout_trigger_sends_partial_batch():
    svc, rx, ex = run(timeout="100ms", size=1000)
    try:
        done, out = rx.send("traces", spans(3))
        assert wait_until(lambda: len(ex.received) == 1, 3)
        assert done.wait(1) and out == [True]
    finally:
        svc.shutdown(time.monotonic() + 2)


def test_max_size_splits_and_joins_acks():
    svc, rx, ex = run(size=5, max_size=5)
    try:
        done, out = rx.send("traces", spans(12))
        sizes = [pdata.count_items("traces", p.request) for p in ex.received]
        assert sizes == [5, 5]
        assert not done.is_set(), "the last 2 spans are still pending"
        svc.shutdown(time.monotonic() + 2)
        sizes = [pdata.count_items("traces", p.request) for p in ex.received]
        assert sizes == [5, 5, 2] and out == [True]
        names = [s.name for p in ex.received for rs in p.request.resource_spans for ss in rs.scope_spans for s in ss.spans]
        assert names == [f"span-{i}" for i in range(12)], "order is kept"
    finally:
        svc.shutdown(time.monotonic() + 2)


def test_shutdown_flushes_pending():
    svc, rx, ex = run(size=1000)
    rx.send("traces", spans(7))
    assert ex.received == []
    svc.shutdown(time.monotonic() + 2)
    assert pdata.count_items("traces", ex.received[0].request) == 7


def test_metadata_keys_are_accepted_and_checked_for_duplicates():
    import pytest as _pytest

    from collector.config import ConfigErrors, decode
    from collector.processors.batch.config import Config as BatchConfig

    cfg = decode(BatchConfig, {"metadata_keys": ["X-Tenant", "region"], "metadata_cardinality_limit": 10})
    assert cfg.metadata_keys == ["X-Tenant", "region"] and cfg.metadata_cardinality_limit == 10
    assert decode(BatchConfig, {}) == BatchConfig(timeout=0.2, send_batch_size=8192, send_batch_max_size=0,
                                                  metadata_keys=[], metadata_cardinality_limit=1000)
    with _pytest.raises(ConfigErrors) as e:
        decode(BatchConfig, {"metadata_keys": ["x-tenant", "X-Tenant"]}, "processors.batch")
    assert "processors.batch.metadata_keys: duplicate entry" in str(e.value)
