"""Two electors on one Lease: exactly one leads; failover after the leader stops renewing."""
import threading
import time

import pytest

from collector.config import ConfigErrors, decode
from collector.extensions.k8s_leader_elector import factory
from collector.extensions.k8s_leader_elector.config import Config
from collector.extensions.k8s_leader_elector.elector import LeaseElector
from collector.extensions.k8s_leader_elector.lease_client import LeaseClient
from collector.k8s.client import make_api_client
from collector.testing import wait_until


FAST = dict(lease_duration=1.5, renew_deadline=1.0, retry_period=0.2)


class Track:
    """Records leadership per identity and fails if two lead at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.leaders = set()
        self.overlaps = 0
        self.history = []

    def callbacks(self, ident):
        def start():
            with self.lock:
                if self.leaders:
                    self.overlaps += 1
                self.leaders.add(ident)
                self.history.append(("start", ident))

        def stop():
            with self.lock:
                self.leaders.discard(ident)
                self.history.append(("stop", ident))
        return start, stop


def elector(api, ident, track, **kw):
    start, stop = track.callbacks(ident)
    return LeaseElector(LeaseClient(api, "skuber", "cluster-lease"), ident,
                        on_start_leading=start, on_stop_leading=stop, **{**FAST, **kw})


def test_config_defaults_match_the_collector():
    cfg = decode(Config, {"lease_name": "l", "lease_namespace": "ns"})
    assert (cfg.lease_duration, cfg.renew_deadline, cfg.retry_period) == (15.0, 10.0, 2.0)
    assert cfg.auth_type == "serviceAccount"
    with pytest.raises(ConfigErrors, match="lease name and namespace must be set"):
        decode(Config, {})
    with pytest.raises(ConfigErrors, match="renew_deadline"):
        decode(Config, {"lease_name": "l", "lease_namespace": "ns", "renew_deadline": "20s"})
    # client-go rejects renew_deadline <= 1.2 x retry_period (its jitter factor)
    with pytest.raises(ConfigErrors, match="retry_period"):
        decode(Config, {"lease_name": "l", "lease_namespace": "ns", "renew_deadline": "2s"})
    assert decode(Config, {"lease_name": "l", "lease_namespace": "ns", "renew_deadline": "2500ms"}).renew_deadline == 2.5


def test_two_electors_one_leader_and_failover_when_leader_stops_renewing(fake_api):
    api = make_api_client("kubeConfig")
    track = Track()
    a, b = elector(api, "pod-a", track), elector(api, "pod-b", track)
    a.start()
    assert wait_until(lambda: a.is_leader, 5)
    b.start()
    time.sleep(2.5)  # longer than lease_duration: the renewing leader keeps it
    assert a.is_leader and not b.is_leader
    lease = fake_api.get("leases", "skuber", "cluster-lease")
    assert lease["spec"]["holderIdentity"] == "pod-a"
    assert lease["spec"]["leaseDurationSeconds"] == 2
    # The leader dies without releasing: b takes over within lease_duration (+ retry jitter).
    crashed_at = time.monotonic()
    a._stop.set()
    a._thread.join(5)
    with track.lock:
        track.leaders.discard("pod-a")  # the process died: its work died with it
    assert wait_until(lambda: b.is_leader, 5)
    # lease_duration after the last renewal it observed, plus its own retry period and jitter
    assert time.monotonic() - crashed_at <= FAST["lease_duration"] + 3 * FAST["retry_period"] + 1.5
    assert fake_api.get("leases", "skuber", "cluster-lease")["spec"]["holderIdentity"] == "pod-b"
    assert fake_api.get("leases", "skuber", "cluster-lease")["spec"]["leaseTransitions"] >= 1
    b.stop()
    a.stop(release=False)
    assert track.overlaps == 0


def test_leader_that_cannot_renew_stops_before_the_other_takes_over(fake_api):
    api = make_api_client("kubeConfig")
    track = Track()
    a = elector(api, "pod-a", track)
    a.start()
    assert wait_until(lambda: a.is_leader, 5)
    b = elector(api, "pod-b", track)
    b.start()
    # Partition a: its API calls now fail (stalled server answers too late for its timeout).
    a.client.timeout = (0.05, 0.05)
    real_replace = a.client.replace

    def broken(*args, **kw):
        raise ConnectionError("partitioned")
    a.client.replace = broken
    assert wait_until(lambda: not a.is_leader, 5)
    lost_at = time.monotonic()
    assert wait_until(lambda: b.is_leader, 5)
    assert track.overlaps == 0
    assert ("stop", "pod-a") in track.history
    assert track.history.index(("stop", "pod-a")) < track.history.index(("start", "pod-b"))
    assert time.monotonic() - lost_at < 5
    a.client.replace = real_replace
    a.stop()
    b.stop()


def test_release_on_stop_lets_standby_take_over_quickly(fake_api):
    api = make_api_client("kubeConfig")
    track = Track()
    a, b = elector(api, "pod-a", track, lease_duration=10, renew_deadline=5), \
        elector(api, "pod-b", track, lease_duration=10, renew_deadline=5)
    a.start()
    assert wait_until(lambda: a.is_leader, 5)
    b.start()
    time.sleep(0.5)
    a.stop(release=True)
    t0 = time.monotonic()
    assert wait_until(lambda: b.is_leader, 5)
    assert time.monotonic() - t0 < 3  # far less than the 10 s lease_duration
    b.stop()
    assert track.overlaps == 0


def test_extension_calls_registered_callbacks(fake_api, monkeypatch, make_settings, fake_host):
    monkeypatch.setenv("POD_NAME", "skuber-otel-deployment-abc")
    cfg = decode(Config, {"auth_type": "kubeConfig", "lease_name": "l", "lease_namespace": "skuber",
                          "lease_duration": "1500ms", "renew_deadline": "1s", "retry_period": "200ms"})
    ext = factory.create(make_settings("extension", "k8s_leader_elector"), cfg)
    events = []
    ext.register(lambda: events.append("start"), lambda: events.append("stop"))
    ext.start(fake_host())
    assert wait_until(lambda: events == ["start"], 5)
    assert fake_api.get("leases", "skuber", "l")["spec"]["holderIdentity"] == "skuber-otel-deployment-abc"
    late = []
    ext.register(lambda: late.append("start"), lambda: late.append("stop"))
    assert late == ["start"]  # registering while leading starts at once
    ext.shutdown(time.monotonic() + 5)
    assert events == ["start", "stop"] and late == ["start", "stop"]
    assert fake_api.get("leases", "skuber", "l")["spec"]["holderIdentity"] == ""
