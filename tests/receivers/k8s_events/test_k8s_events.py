"""k8s_events: the event -> log record mapping, no flood at first start, and restarts with a
file_storage checkpoint that neither repeat nor skip events."""
import datetime
import time

import pytest

from collector.component import Refused
from collector.config import decode
from collector.extensions.file_storage import factory as storage_factory
from collector.k8s.fakeapi import objects as o
from collector.pdata import new_request
from collector.receivers.k8s_cluster.metric_builder import attrs_dict
from collector.receivers.k8s_events import factory
from collector.receivers.k8s_events.config import Config
from collector.receivers.k8s_events.mapping import SCOPE_NAME, append_event, event_time
from collector.testing import wait_until


def records(payloads):
    out = []
    for p in payloads:
        for rl in p.request.resource_logs:
            for sl in rl.scope_logs:
                for lr in sl.log_records:
                    out.append((attrs_dict(rl.resource.attributes), lr))
    return out


def messages(payloads):
    return [lr.body.string_value for _, lr in records(payloads)]


def test_event_maps_like_the_collector():
    pod = o.pod("web-1", "shop", node_name="node-3")
    ev = o.core_event(pod, reason="BackOff", message="Back-off restarting failed container",
                      type_="Warning", count=5)
    ev["involvedObject"]["fieldPath"] = "spec.containers{app}"
    ev["involvedObject"]["resourceVersion"] = "812"
    ev["source"]["host"] = "node-3"
    ev["metadata"]["creationTimestamp"] = "2024-05-01T10:00:00Z"
    ev["lastTimestamp"] = "2024-05-01T10:05:00Z"
    req = new_request("logs")
    append_event(req, ev, "1.2.3")
    rl = req.resource_logs[0]
    assert attrs_dict(rl.resource.attributes) == {
        "k8s.node.name": "node-3", "k8s.object.kind": "Pod", "k8s.object.name": "web-1",
        "k8s.object.uid": pod["metadata"]["uid"], "k8s.object.fieldpath": "spec.containers{app}",
        "k8s.object.api_version": "v1", "k8s.object.resource_version": "812"}
    sl = rl.scope_logs[0]
    assert sl.scope.name == SCOPE_NAME and sl.scope.version == "1.2.3"
    lr = sl.log_records[0]
    assert lr.body.string_value == "Back-off restarting failed container"
    assert lr.severity_number == 13 and lr.severity_text == "Warning"
    assert lr.time_unix_nano == int(datetime.datetime(2024, 5, 1, 10, 5, tzinfo=datetime.timezone.utc).timestamp()) * 10**9
    assert attrs_dict(lr.attributes) == {
        "k8s.event.reason": "BackOff", "k8s.event.action": "", "k8s.event.start_time": "2024-05-01 10:00:00 +0000 UTC",
        "k8s.event.name": ev["metadata"]["name"], "k8s.event.uid": ev["metadata"]["uid"],
        "k8s.namespace.name": "shop", "k8s.event.count": 5}


def test_normal_is_info_unknown_type_has_no_severity_and_zero_count_is_omitted():
    pod = o.pod("p")
    req = new_request("logs")
    append_event(req, o.core_event(pod, type_="Normal", count=0))
    ev = o.core_event(pod, type_="Surprising")
    ev["eventTime"] = "2024-05-01T10:00:00.123456Z"  # eventTime wins over lastTimestamp
    append_event(req, ev)
    a, b = [rl.scope_logs[0].log_records[0] for rl in req.resource_logs]
    assert a.severity_number == 9 and a.severity_text == "Normal"
    assert "k8s.event.count" not in attrs_dict(a.attributes)
    assert b.severity_number == 0 and b.severity_text == ""
    assert b.time_unix_nano == 1714557600123456000


def test_a_time_without_offset_is_utc():
    ev = {"lastTimestamp": "2024-05-01T10:00:00"}
    assert event_time(ev) == datetime.datetime(2024, 5, 1, 10, tzinfo=datetime.timezone.utc)


def old_event(pod, msg):
    ev = o.core_event(pod, message=msg)
    past = "2020-01-01T00:00:00Z"
    ev["firstTimestamp"] = ev["lastTimestamp"] = ev["metadata"]["creationTimestamp"] = past
    return ev


@pytest.fixture
def storage(tmp_path, make_settings):
    def make():
        cfg = decode(storage_factory.config_class, {"directory": str(tmp_path / "state"), "create_directory": True})
        ext = storage_factory.create(make_settings("extension", "file_storage"), cfg)
        ext.start(None)
        return ext
    return make


def start_receiver(make_settings, fake_host, sink, extensions, **cfg):
    config = decode(Config, {"auth_type": "kubeConfig", **cfg})
    rcv = factory.create(make_settings("receiver", "k8s_events"), config, {"logs": sink})
    rcv.start(fake_host(extensions))
    return rcv


def test_no_flood_of_old_events_at_first_start(fake_api, make_settings, fake_host, recorder):
    pod = o.pod("p", "shop")
    for i in range(5):
        fake_api.create(old_event(pod, f"old-{i}"))
    sink = recorder()
    rcv = start_receiver(make_settings, fake_host, sink, {})
    try:
        assert wait_until(lambda: rcv.delivery is not None and rcv._informers and rcv._informers[0].synced, 10)
        fake_api.create(o.core_event(pod, message="new-1"))
        assert wait_until(lambda: "new-1" in messages(sink.payloads), 10)
        time.sleep(0.3)
        assert messages(sink.payloads) == ["new-1"]
    finally:
        rcv.shutdown(time.monotonic() + 5)


def test_restart_resumes_without_duplicates_or_gaps(fake_api, make_settings, fake_host, recorder, storage):
    pod = o.pod("p", "shop")
    fake_api.create(old_event(pod, "before-first-start"))
    sink = recorder()
    st = storage()
    rcv = start_receiver(make_settings, fake_host, sink, {"file_storage": st}, storage="file_storage")
    for i in range(3):
        fake_api.create(o.core_event(pod, message=f"run1-{i}"))
    assert wait_until(lambda: len(messages(sink.payloads)) == 3, 10)
    # Bump an event's count (a MODIFIED event): a new version is a new log record.
    ev = o.core_event(pod, message="repeated", count=1)
    created = fake_api.create(ev)
    assert wait_until(lambda: "repeated" in messages(sink.payloads), 10)
    created["count"] = 2
    fake_api.update(created)
    assert wait_until(lambda: messages(sink.payloads).count("repeated") == 2, 10)
    rcv.shutdown(time.monotonic() + 5)
    st.shutdown(time.monotonic() + 5)

    # While down: events happen, including one whose timestamp lies in the past.
    fake_api.create(o.core_event(pod, message="while-down-1"))
    fake_api.create(old_event(pod, "while-down-backdated"))
    time.sleep(1.1)  # the restart is later than the events (second-precision timestamps)

    sink2 = recorder()
    st2 = storage()
    rcv2 = start_receiver(make_settings, fake_host, sink2, {"file_storage": st2}, storage="file_storage")
    try:
        fake_api.create(o.core_event(pod, message="run2-0"))
        assert wait_until(lambda: "run2-0" in messages(sink2.payloads), 10)
        time.sleep(0.3)
        assert messages(sink2.payloads) == ["while-down-1", "while-down-backdated", "run2-0"]
    finally:
        rcv2.shutdown(time.monotonic() + 5)
        st2.shutdown(time.monotonic() + 5)


class FlakyConsumer:
    """Refuses the first n payloads, nacks the next m, then accepts."""

    def __init__(self, refuse=1, nack=1):
        self.refuse, self.nack = refuse, nack
        self.accepted = []

    def consume(self, payload):
        if self.refuse:
            self.refuse -= 1
            payload.ack(False)
            raise Refused("memory pressure")
        if self.nack:
            self.nack -= 1
            payload.ack(False)
            return
        self.accepted.append(payload)
        payload.ack(True)


def test_refused_and_nacked_batches_are_retried_in_order_and_not_committed_early(
        fake_api, make_settings, fake_host, storage):
    pod = o.pod("p", "shop")
    st = storage()
    sink = FlakyConsumer(refuse=1, nack=1)
    rcv = start_receiver(make_settings, fake_host, sink, {"file_storage": st}, storage="file_storage")
    try:
        assert wait_until(lambda: rcv._informers and rcv._informers[0].synced, 10)
        for i in range(3):
            fake_api.create(o.core_event(pod, message=f"e{i}"))
        assert wait_until(lambda: len(messages(sink.accepted)) == 3, 15)
        assert messages(sink.accepted) == ["e0", "e1", "e2"]
        assert wait_until(lambda: rcv.delivery.committed == fake_api.resource_version, 5)
    finally:
        rcv.shutdown(time.monotonic() + 5)
        st.shutdown(time.monotonic() + 5)


def test_unacknowledged_events_are_redelivered_after_restart(fake_api, make_settings, fake_host, recorder, storage):
    pod = o.pod("p", "shop")
    st = storage()
    hold = recorder(ack=None)  # never acknowledges: the gateway never confirmed
    rcv = start_receiver(make_settings, fake_host, hold, {"file_storage": st}, storage="file_storage")
    assert wait_until(lambda: rcv._informers and rcv._informers[0].synced, 10)
    time.sleep(0.7)  # let the idle checkpoint record the synced list
    fake_api.create(o.core_event(pod, message="unconfirmed"))
    assert wait_until(lambda: messages(hold.payloads) == ["unconfirmed"], 10)
    rcv.shutdown(time.monotonic() + 5)
    st.shutdown(time.monotonic() + 5)
    sink = recorder()
    st2 = storage()
    rcv2 = start_receiver(make_settings, fake_host, sink, {"file_storage": st2}, storage="file_storage")
    try:
        assert wait_until(lambda: messages(sink.payloads) == ["unconfirmed"], 10)
    finally:
        rcv2.shutdown(time.monotonic() + 5)
        st2.shutdown(time.monotonic() + 5)


def test_only_the_leader_emits_events_and_the_standby_takes_over(fake_api, make_settings, fake_host, recorder):
    from collector.extensions.k8s_leader_elector import factory as elector_factory
    from collector.extensions.k8s_leader_elector.config import Config as ElectorConfig

    ecfg = decode(ElectorConfig, {"auth_type": "kubeConfig", "lease_name": "events", "lease_namespace": "skuber",
                                  "lease_duration": "1500ms", "renew_deadline": "1s", "retry_period": "200ms"})
    replicas = []
    for name in ("a", "b"):
        ext = elector_factory.create(make_settings("extension", "k8s_leader_elector"), ecfg)
        ext.identity = f"pod-{name}"
        host_ext = {"k8s_leader_elector": ext}
        ext.start(fake_host(host_ext))
        sink = recorder()
        rcv = start_receiver(make_settings, fake_host, sink, host_ext, k8s_leader_elector="k8s_leader_elector")
        replicas.append((ext, rcv, sink))
    pod = o.pod("p", "shop")
    try:
        assert wait_until(lambda: any(e.is_leader for e, _, _ in replicas), 10)
        leader = next(i for i, (e, _, _) in enumerate(replicas) if e.is_leader)
        assert wait_until(lambda: replicas[leader][1]._informers and replicas[leader][1]._informers[0].synced, 10)
        fake_api.create(o.core_event(pod, message="first"))
        assert wait_until(lambda: messages(replicas[leader][2].payloads) == ["first"], 10)
        time.sleep(0.3)
        assert messages(replicas[1 - leader][2].payloads) == []
        ext, rcv, _ = replicas[leader]
        rcv.shutdown(time.monotonic() + 5)
        ext.shutdown(time.monotonic() + 5)
        other = replicas[1 - leader]
        assert wait_until(lambda: other[0].is_leader and other[1]._informers and other[1]._informers[0].synced, 10)
        fake_api.create(o.core_event(pod, message="second"))
        assert wait_until(lambda: "second" in messages(other[2].payloads), 10)
    finally:
        for ext, rcv, _ in replicas:
            rcv.shutdown(time.monotonic() + 5)
            ext.shutdown(time.monotonic() + 5)


def test_failover_hands_the_checkpoint_over_through_the_lease(fake_api, make_settings, fake_host, recorder,
                                                             tmp_path):
    """Each replica has its own file_storage; the checkpoint travels with the lease, so the new
    leader neither repeats what the old one delivered nor skips what happened in between."""
    from collector.extensions.k8s_leader_elector import factory as elector_factory
    from collector.extensions.k8s_leader_elector.config import Config as ElectorConfig

    ecfg = decode(ElectorConfig, {"auth_type": "kubeConfig", "lease_name": "events", "lease_namespace": "skuber",
                                  "lease_duration": "1500ms", "renew_deadline": "1s", "retry_period": "200ms"})
    replicas = []
    for name in ("a", "b"):
        st_cfg = decode(storage_factory.config_class, {"directory": str(tmp_path / name), "create_directory": True})
        st = storage_factory.create(make_settings("extension", "file_storage"), st_cfg)
        st.start(None)
        ext = elector_factory.create(make_settings("extension", "k8s_leader_elector"), ecfg)
        ext.identity = f"pod-{name}"
        exts = {"k8s_leader_elector": ext, "file_storage": st}
        sink = recorder()
        if name == "a":
            ext.start(fake_host(exts))
            assert wait_until(lambda: ext.is_leader, 5)
        rcv = start_receiver(make_settings, fake_host, sink, exts, k8s_leader_elector="k8s_leader_elector",
                             storage="file_storage")
        replicas.append((ext, rcv, sink, st, exts))
    a, b = replicas
    b[0].start(fake_host(b[4]))
    pod = o.pod("p", "shop")
    try:
        assert wait_until(lambda: a[1]._informers and a[1]._informers[0].synced, 10)
        for i in range(3):
            fake_api.create(o.core_event(pod, message=f"a-{i}"))
        assert wait_until(lambda: messages(a[2].payloads) == ["a-0", "a-1", "a-2"], 10)
        time.sleep(0.5)  # a renewal carries the checkpoint
        a[1].shutdown(time.monotonic() + 5)
        fake_api.create(old_event(pod, "during-handover"))  # backdated: a start-time filter would drop it
        a[0].shutdown(time.monotonic() + 5)
        assert wait_until(lambda: b[0].is_leader, 5)
        assert wait_until(lambda: "during-handover" in messages(b[2].payloads), 10)
        fake_api.create(o.core_event(pod, message="b-0"))
        assert wait_until(lambda: "b-0" in messages(b[2].payloads), 10)
        time.sleep(0.3)
        assert messages(b[2].payloads) == ["during-handover", "b-0"]
    finally:
        for ext, rcv, _, st, _ in replicas:
            rcv.shutdown(time.monotonic() + 5)
            ext.shutdown(time.monotonic() + 5)
            st.shutdown(time.monotonic() + 5)


def test_a_malformed_event_is_dropped_and_later_events_still_flow(fake_api, make_settings, fake_host, recorder):
    pod = o.pod("p", "shop")
    sink = recorder()
    rcv = start_receiver(make_settings, fake_host, sink, {})
    try:
        assert wait_until(lambda: rcv._informers and rcv._informers[0].synced, 10)
        bad = o.core_event(pod, message="bad")
        bad["type"], bad["involvedObject"] = 5, "not an object"
        fake_api.create(bad)
        fake_api.create(o.core_event(pod, message="good"))
        assert wait_until(lambda: "good" in messages(sink.payloads), 10)
        assert "bad" not in messages(sink.payloads)
    finally:
        rcv.shutdown(time.monotonic() + 5)


class _BrokenStorage:
    def get(self, key):
        return None

    def set(self, key, value):
        raise OSError("disk full")


def test_a_failing_checkpoint_write_does_not_stop_delivery(make_settings, recorder):
    from collector.receivers.k8s_events.delivery import EventDelivery
    sink = recorder()
    settings = make_settings("receiver", "k8s_events")
    d = EventDelivery(sink, _BrokenStorage(), settings.telemetry, settings.logger)
    pod = o.pod("p", "shop")
    d.start()
    try:
        for rv, msg in ((10, "first"), (11, "second")):
            ev = o.core_event(pod, message=msg)
            ev["metadata"]["resourceVersion"] = str(rv)
            d.offer(ev, rv)
            assert wait_until(lambda: msg in messages(sink.payloads), 5)
        assert d.committed == 11
    finally:
        d.stop()


class _FailsOnce:
    def __init__(self, sink):
        self.sink, self.calls = sink, 0

    def consume(self, payload):
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("a processor bug")
        self.sink.consume(payload)


def test_an_unexpected_consumer_error_is_retried(make_settings, recorder):
    from collector.receivers.k8s_events.delivery import EventDelivery
    sink = recorder()
    settings = make_settings("receiver", "k8s_events")
    d = EventDelivery(_FailsOnce(sink), None, settings.telemetry, settings.logger, retry_initial=0.01)
    ev = o.core_event(o.pod("p", "shop"), message="once")
    d.offer(ev, 10)
    d.start()
    try:
        assert wait_until(lambda: messages(sink.payloads) == ["once"], 5)
    finally:
        d.stop()
