"""Checkpoints in file_storage: keyed by fingerprint, moved as it grows, forgotten when gone."""
import time

import pytest

from collector.receivers.filelog.checkpoints import ALIVE_KEY, FORGET_AFTER_POLLS, CheckpointStore
from collector.receivers.filelog.fingerprint import storage_key

from .harness import Host


@pytest.fixture
def host(tmp_path):
    h = Host(tmp_path / "state")
    yield h
    h.close()


def client(host):
    return host.get_extension("file_storage").client("receiver", "filelog")


def test_checkpoint_survives_a_new_store_and_matches_by_prefix(host):
    s = CheckpointStore(client(host))
    s.record(b"2026-12-03T10:15:00Z stdout F a\n", 33, "/p/0.log", None)
    assert s.flush()
    s2 = CheckpointStore(client(host))
    assert s2.load() == 1
    cp = s2.find(b"2026-12-03T10:15:00Z stdout F a\n2026-12-03T10:15:01Z stdout F b\n")
    assert cp is not None and cp.offset == 33 and cp.path == "/p/0.log"
    assert s2.find(b"2026-12-03T10:16:00Z other file") is None
    assert s2.last_alive is not None and abs(s2.last_alive - time.time()) < 60


def test_growing_fingerprint_moves_the_checkpoint_key(host):
    s = CheckpointStore(client(host))
    k1 = s.record(b"short-fingerprint", 10, "/p", None)
    k2 = s.record(b"short-fingerprint and longer now", 30, "/p", k1)
    s.flush()
    keys = [k for k, _ in client(host).items("fp.")]
    assert keys == [k2] and k2 == storage_key(b"short-fingerprint and longer now")


def test_checkpoints_of_vanished_files_are_forgotten(host):
    s = CheckpointStore(client(host))
    keep = s.record(b"kept file fingerprint", 5, "/a", None)
    s.record(b"gone file fingerprint", 7, "/b", None)
    for _ in range(FORGET_AFTER_POLLS):
        s.sweep({keep})
    s.flush()
    assert [k for k, _ in client(host).items("fp.")] == [keep]


class BrokenClient:
    def __init__(self):
        self.fail = True
        self.data = {}

    def batch(self, sets, deletes):
        if self.fail:
            raise OSError("disk full")
        self.data.update(sets)

    def items(self, prefix=""):
        return []

    def get(self, key):
        return None


def test_failed_write_is_counted_and_retried():
    errors = []
    c = BrokenClient()
    s = CheckpointStore(c, on_error=lambda: errors.append(1))
    key = s.record(b"fingerprint-abcdefgh", 99, "/x", None)
    assert not s.flush()
    assert errors == [1]
    c.fail = False
    assert s.flush()
    assert key in c.data and ALIVE_KEY in c.data
