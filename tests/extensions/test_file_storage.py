import logging
import threading
import time

import pytest

from collector.component import ComponentID, CreateSettings
from collector.config import decode
from collector.extensions.file_storage import Config, FileStorage
from collector.telemetry import Telemetry


def storage(directory, **cfg):
    tel = Telemetry()
    s = FileStorage(CreateSettings(ComponentID("file_storage"), "extension", logging.getLogger("t"), tel.component("extension", "file_storage")),
                    decode(Config, {"directory": str(directory), **cfg}))
    s.start(None)
    return s


def test_values_survive_a_restart(tmp_path):
    s = storage(tmp_path)
    c = s.client("receiver", "filelog")
    c.set("offset/a", b"123")
    c.batch({"offset/b": b"7", "offset/c": b"8"}, ["offset/a"])
    s.shutdown(time.monotonic() + 1)
    s2 = storage(tmp_path)
    c2 = s2.client("receiver", "filelog")
    assert c2.get("offset/a") is None
    assert c2.items("offset/") == [("offset/b", b"7"), ("offset/c", b"8")]
    assert s2.client("receiver", "filelog", "other").items() == [], "clients are separate namespaces"
    s2.shutdown(time.monotonic() + 1)


def test_one_sqlite_file_per_directory_in_wal_mode(tmp_path):
    s = storage(tmp_path)
    s.client("exporter", "otlp").set("k", b"v")
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".sqlite"] == ["skuber_storage.sqlite"]
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s.shutdown(time.monotonic() + 1)


def test_concurrent_writers_are_safe(tmp_path):
    s = storage(tmp_path)
    clients = [s.client("receiver", f"r{i}") for i in range(4)]

    def write(c):
        for i in range(200):
            c.set(f"k{i:03d}", str(i).encode())

    threads = [threading.Thread(target=write, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert all(len(c.items()) == 200 for c in clients)
    s.shutdown(time.monotonic() + 1)


def test_missing_directory_is_an_error_unless_created(tmp_path):
    with pytest.raises(RuntimeError, match="create_directory"):
        storage(tmp_path / "nope")
    s = storage(tmp_path / "made", create_directory=True)
    assert (tmp_path / "made" / "skuber_storage.sqlite").exists()
    s.shutdown(time.monotonic() + 1)


def test_config_defaults_and_validation_as_otelcol():
    from collector.config import ConfigErrors

    cfg = decode(Config, {})
    assert (cfg.directory, cfg.timeout, cfg.create_directory, cfg.directory_permissions, cfg.fsync) == \
        ("/var/lib/otelcol/file_storage", 1.0, False, "0750", False)
    assert cfg.compaction.directory == "/var/lib/otelcol/file_storage" and cfg.compaction.max_transaction_size == 65536
    # permissions are only checked when the directory is to be created
    decode(Config, {"directory_permissions": "bogus"})
    for raw, key in (({"create_directory": True, "directory_permissions": "bogus"}, "extensions.file_storage.directory_permissions"),
                     ({"create_directory": True, "directory_permissions": "07777"}, "extensions.file_storage.directory_permissions"),
                     ({"compaction": {"max_transaction_size": -1}}, "extensions.file_storage.compaction.max_transaction_size"),
                     ({"compaction": {"on_rebound": True, "check_interval": "0s"}}, "extensions.file_storage.compaction.check_interval")):
        with pytest.raises(ConfigErrors) as e:
            decode(Config, raw, "extensions.file_storage")
        assert any(err.path == key for err in e.value.errors), str(e.value)
