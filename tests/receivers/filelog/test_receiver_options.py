"""Receiver options: start_at, file attributes, resource/attributes, exclude, limits, encoding."""
import os
import time

from collector.receivers.filelog.k8s_path import k8s_attributes
from collector.testing import wait_until

from .harness import OP, POD_DIR, Host, RecordingConsumer, expect, lines, make_receiver, pod_file, stop, write


def test_start_at_end_skips_existing_lines_on_first_run(tmp_path):
    f = pod_file(tmp_path)
    write(f, 0, 10)
    c = RecordingConsumer()
    host = Host(None)
    r = make_receiver(c, host, {"include": [str(tmp_path / "pods/*/*/*.log")], "operators": OP})
    try:
        time.sleep(0.3)
        write(f, 10, 15)
        assert expect(c, 5) == lines(10, 15)
    finally:
        stop(r)


def test_file_attributes_resource_and_static_attributes(tmp_path):
    f = pod_file(tmp_path)
    write(f, 0, 1)
    c = RecordingConsumer()
    host = Host(None)
    r = make_receiver(c, host, {"include": [str(tmp_path / "pods/*/*/*.log")], "start_at": "beginning",
                                "operators": OP, "include_file_path": True, "include_file_name": False,
                                "attributes": {"team": "payments"}, "resource": {"k8s.cluster.name": "c1"}})
    try:
        assert wait_until(lambda: c.count() == 1)
        res, lr = c.records()[0]
        attrs = {kv.key: kv.value.string_value for kv in lr.attributes}
        assert attrs == {"log.iostream": "stdout", "logtag": "F", "log.file.path": str(f), "team": "payments"}
        ns, pod, uid = POD_DIR.split("_")
        assert res == {"k8s.namespace.name": ns, "k8s.pod.name": pod, "k8s.pod.uid": uid,
                       "k8s.container.name": "app", "k8s.container.restart_count": "0", "k8s.cluster.name": "c1"}
    finally:
        stop(r)


def test_exclude_and_add_metadata_off(tmp_path):
    keep = pod_file(tmp_path, "0.log", "app")
    skip = pod_file(tmp_path, "0.log", "agent")
    write(keep, 0, 3)
    write(skip, 100, 103)
    c = RecordingConsumer()
    host = Host(None)
    r = make_receiver(c, host, {"include": [str(tmp_path / "pods/*/*/*.log")], "start_at": "beginning",
                                "exclude": [str(tmp_path / "pods/*/agent/*.log")],
                                "operators": [{"type": "container", "add_metadata_from_filepath": False}]})
    try:
        assert expect(c, 3) == lines(0, 3)
        assert all(res == {} for res, _ in c.records())
    finally:
        stop(r)


def test_max_concurrent_files_bounds_open_files(tmp_path):
    for k in range(3):
        write(pod_file(tmp_path, "0.log", f"c{k}"), k * 10, k * 10 + 5)
    c = RecordingConsumer()
    host = Host(None)
    r = make_receiver(c, host, {"include": [str(tmp_path / "pods/*/*/*.log")], "start_at": "beginning",
                                "operators": OP, "max_concurrent_files": 2})
    try:
        assert wait_until(lambda: c.count() >= 10)
        time.sleep(0.2)
        assert len(r.readers) == 2 and c.count() == 10
        assert host.telemetry.value("skuber_filelog_files_over_limit_total", {"receiver": "filelog"}) > 0
    finally:
        stop(r)


def test_latin1_encoding_is_transcoded(tmp_path):
    f = tmp_path / "legacy.log"
    f.write_bytes("caf\u00e9 cr\u00e8me\n".encode("latin-1"))
    c = RecordingConsumer()
    host = Host(None)
    r = make_receiver(c, host, {"include": [str(f)], "start_at": "beginning", "encoding": "latin-1"})
    try:
        assert wait_until(lambda: c.count() == 1)
        assert c.bodies() == ["caf\u00e9 cr\u00e8me"]
    finally:
        stop(r)


def test_invalid_utf8_lines_are_counted_in_self_metrics(tmp_path):
    f = tmp_path / "bad.log"
    f.write_bytes(b"ok\nbad \xc3\x28 byte\n")
    c = RecordingConsumer()
    host = Host(None)
    r = make_receiver(c, host, {"include": [str(f)], "start_at": "beginning"})
    try:
        assert wait_until(lambda: c.count() == 2)
        assert c.bodies() == ["ok", "bad \ufffd( byte"]
        assert host.telemetry.value("skuber_filelog_invalid_encoding_lines_total", {"receiver": "filelog"}) == 1
        assert host.telemetry.value("otelcol_receiver_accepted_log_records_total",
                                    {"receiver": "filelog", "transport": ""}) == 2
    finally:
        stop(r)


def test_pod_path_parsing():
    uid = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
    base = f"/var/log/pods/kube-system_coredns-5d78c9869d-abcde_{uid}/coredns/"
    want = [("k8s.namespace.name", "kube-system"), ("k8s.pod.name", "coredns-5d78c9869d-abcde"),
            ("k8s.pod.uid", uid), ("k8s.container.name", "coredns"), ("k8s.container.restart_count", "3")]
    assert k8s_attributes(base + "3.log") == want
    assert k8s_attributes(base + "3.log.20261203-101500") == want
    assert k8s_attributes(base + "3.log.20261203-101500.gz") is None
    assert k8s_attributes("/var/log/containers/coredns_kube-system_coredns-0123.log") is None
    assert k8s_attributes("/var/log/syslog") is None


def test_discovery_siblings_and_exclusions(tmp_path):
    from collector.receivers.filelog.discovery import find_candidates
    app = pod_file(tmp_path, "0.log", "app")
    own = pod_file(tmp_path, "0.log", "agent")
    for p in (app, own):
        p.write_text("x\n")
        p.with_name("0.log.20261203-101500").write_text("y\n")
        p.with_name("0.log.20261202-101500.gz").write_bytes(b"\x1f\x8b")
    old = pod_file(tmp_path, "1.log", "app")
    old.write_text("z\n")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    got = find_candidates([str(tmp_path / "pods/*/*/*.log")], [str(tmp_path / "pods/*/agent/*.log")],
                          exclude_older_than=600)
    assert sorted((os.path.basename(c.path), c.sibling) for c in got) == [("0.log", False),
                                                                          ("0.log.20261203-101500", True)]
    assert all("/agent/" not in c.path for c in got)
