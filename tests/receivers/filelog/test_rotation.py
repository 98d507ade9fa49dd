"""File identity across rotation: each case asserts the exact set of bodies delivered."""
import gzip
import os
import shutil
import time

from collector.testing import wait_until

from .harness import (OP, POD_DIR, Host, RecordingConsumer, cri, expect, lines, make_receiver, pod_file,
                      running, stop, write)

def start(tmp_path, c, **extra):
    host = Host(tmp_path / "state")
    raw = {"include": [str(tmp_path / "pods/*/*/*.log")], "start_at": "beginning", "operators": OP}
    raw.update(extra.pop("raw", {}))
    return host, make_receiver(c, host, raw, **extra)


def test_rename_and_create_rotation_loses_no_line(tmp_path):
    f = pod_file(tmp_path)
    write(f, 0, 100)
    c = RecordingConsumer()
    with running(start(tmp_path, c)) as (host, r):
        assert wait_until(lambda: c.count() >= 100)
        # The runtime keeps writing to the old file for a moment after the kubelet renamed it.
        rotated = f.with_name("0.log.20261203-101500")
        with open(f, "a") as old:
            os.rename(f, rotated)
            old.write("".join(cri(i, f"line {i}") for i in range(100, 150)))
        write(f, 150, 200, mode="w")
        assert expect(c, 200) == lines(0, 200)
        res = {tuple(sorted(a.items())) for a, _ in c.records()}
        assert len(res) == 1 and dict(next(iter(res)))["k8s.container.restart_count"] == "0"


def test_rotated_tail_keeps_pod_metadata(tmp_path):
    """contrib #35137: the tail of a rotated file read under its new name keeps k8s.* attributes."""
    f = pod_file(tmp_path)
    write(f, 0, 10)
    c = RecordingConsumer("hold")
    with running(start(tmp_path, c, max_inflight_batches=1, read_chunk=200)) as (host, r):
        assert wait_until(lambda: c.count() >= 1)
        os.rename(f, f.with_name("0.log.20261203-101500"))
        for _ in range(200):
            if not c.release():
                time.sleep(0.02)
            if c.count() >= 10:
                break
        c.release()
        assert expect(c, 10) == lines(0, 10)
        assert all(a.get("k8s.pod.uid") == POD_DIR.split("_")[2] for a, _ in c.records())


def test_copytruncate_rotation_loses_no_line(tmp_path):
    f = pod_file(tmp_path, "app.log")
    write(f, 0, 100)
    c = RecordingConsumer()
    with running(start(tmp_path, c, raw={"include": [str(tmp_path / "pods/*/*/app.log")]})) as (host, r):
        assert wait_until(lambda: c.count() >= 100)
        # Lines written just before the copy: only the copy has them once the original is truncated.
        write(f, 100, 120)
        shutil.copyfile(f, f.with_name("app.log.1"))
        os.truncate(f, 0)
        write(f, 120, 140)
        assert expect(c, 140) == lines(0, 140)


def test_truncation_restarts_from_zero(tmp_path):
    f = pod_file(tmp_path)
    write(f, 0, 50)
    c = RecordingConsumer()
    with running(start(tmp_path, c)) as (host, r):
        assert wait_until(lambda: c.count() >= 50)
        os.truncate(f, 0)
        time.sleep(0.1)
        write(f, 50, 60)
        assert expect(c, 60) == lines(0, 60)


def test_truncation_with_writer_hole_skips_leading_nuls(tmp_path):
    f = pod_file(tmp_path)
    write(f, 0, 50)
    c = RecordingConsumer()
    with running(start(tmp_path, c)) as (host, r):
        assert wait_until(lambda: c.count() >= 50)
        size = f.stat().st_size
        os.truncate(f, 0)
        time.sleep(0.1)
        with open(f, "r+b") as w:  # a writer without O_APPEND keeps its offset: a hole of NULs
            w.seek(size)
            w.write("".join(cri(i, f"line {i}") for i in range(50, 55)).encode())
        assert expect(c, 55) == lines(0, 55)


def test_deleted_while_open_is_read_to_the_end(tmp_path):
    f = pod_file(tmp_path)
    write(f, 0, 40)
    c = RecordingConsumer("hold")
    with running(start(tmp_path, c, max_inflight_batches=1, read_chunk=300)) as (host, r):
        assert wait_until(lambda: c.count() >= 1)
        os.unlink(f)
        deadline = time.monotonic() + 10
        while c.count() < 40 and time.monotonic() < deadline:
            if not c.release():
                time.sleep(0.01)
        c.release()
        assert expect(c, 40) == lines(0, 40)
        assert wait_until(lambda: not r.readers, 5)  # drained, then closed


def test_rotation_while_agent_was_down(tmp_path):
    f = pod_file(tmp_path)
    write(f, 0, 50)
    c1 = RecordingConsumer()
    host, r = start(tmp_path, c1)
    assert wait_until(lambda: c1.count() >= 50)
    stop(r)
    host.close()
    write(f, 50, 70)  # written while the agent is down, then rotated away
    os.rename(f, f.with_name("0.log.20261203-101500"))
    write(f, 70, 80, mode="w")
    c2 = RecordingConsumer()
    with running(start(tmp_path, c2, raw={"start_at": "end"})) as (host, r):
        assert expect(c2, 30) == lines(50, 80)


def test_symlinked_paths_are_read_once_with_pod_metadata(tmp_path):
    f = pod_file(tmp_path)
    write(f, 0, 20)
    links = tmp_path / "containers"
    links.mkdir()
    os.symlink(f, links / "pod-a_ns1_app-0123abcd.log")
    c = RecordingConsumer()
    host = Host(tmp_path / "state")
    r = make_receiver(c, host, {"include": [str(links / "*.log"), str(tmp_path / "pods/*/*/*.log")],
                                "start_at": "beginning", "operators": OP, "include_file_path_resolved": True})
    try:
        assert expect(c, 20) == lines(0, 20)
        a, lr = c.records()[0]
        assert a["k8s.pod.name"] == "pod-a" and a["k8s.namespace.name"] == "ns1"
    finally:
        stop(r)
        host.close()


def test_compressed_rotated_files_are_ignored(tmp_path):
    f = pod_file(tmp_path)
    write(f, 0, 5)
    with gzip.open(f.with_name("0.log.20261201-000000.gz"), "wt") as g:
        g.write("".join(cri(i, f"old {i}") for i in range(5)))
    raw_gz = f.with_name("1.log")  # compressed content under a .log name: ignored by magic bytes
    raw_gz.write_bytes(gzip.compress(b"x" * 100))
    c = RecordingConsumer()
    with running(start(tmp_path, c, raw={"include": [str(tmp_path / "pods/*/*/*.log*")]})) as (host, r):
        assert expect(c, 5) == lines(0, 5)


def test_file_created_and_rotated_while_agent_was_down(tmp_path):
    other = pod_file(tmp_path, "0.log", "other")
    write(other, 1000, 1001)
    c1 = RecordingConsumer()
    host, r = start(tmp_path, c1, raw={"start_at": "end"})
    time.sleep(0.3)  # a run that registered its files and recorded when it was alive
    stop(r)
    host.close()
    f = pod_file(tmp_path)  # a new container: its first file is rotated before the agent is back
    write(f, 0, 30, mode="w")
    os.rename(f, f.with_name("0.log.20261203-101500"))
    write(f, 30, 40, mode="w")
    c2 = RecordingConsumer()
    with running(start(tmp_path, c2, raw={"start_at": "end"})) as (host, r):
        assert expect(c2, 40) == lines(0, 40)
