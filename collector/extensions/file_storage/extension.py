from __future__ import annotations

import os
import sqlite3
import threading

from ...component import Component

DB_NAME = "skuber_storage.sqlite"


class StorageClient:
    """One component's namespace in the shared database. Thread-safe; every write is committed."""

    def __init__(self, storage: "FileStorage", namespace: str) -> None:
        self._storage = storage
        self.namespace = namespace

    def get(self, key: str) -> bytes | None:
        with self._storage.lock:
            row = self._storage.db.execute("SELECT value FROM kv WHERE ns=? AND key=?", (self.namespace, key)).fetchone()
        return None if row is None else bytes(row[0])

    def set(self, key: str, value: bytes) -> None:
        self.batch({key: value}, [])

    def delete(self, key: str) -> None:
        self.batch({}, [key])

    def batch(self, sets: dict[str, bytes], deletes: list[str]) -> None:
        """Apply all sets and deletes in one transaction."""
        ns = self.namespace
        with self._storage.lock:
            db = self._storage.db
            with db:
                if sets:
                    db.executemany("INSERT INTO kv(ns, key, value) VALUES(?,?,?) ON CONFLICT(ns, key) DO UPDATE SET value=excluded.value",
                                   [(ns, k, sqlite3.Binary(v)) for k, v in sets.items()])
                if deletes:
                    db.executemany("DELETE FROM kv WHERE ns=? AND key=?", [(ns, k) for k in deletes])

    def items(self, prefix: str = "") -> list[tuple[str, bytes]]:
        with self._storage.lock:
            rows = self._storage.db.execute(
                "SELECT key, value FROM kv WHERE ns=? AND substr(key, 1, ?)=? ORDER BY key",
                (self.namespace, len(prefix), prefix)).fetchall()
        return [(k, bytes(v)) for k, v in rows]

    def close(self) -> None:
        pass


class FileStorage(Component):
    """One SQLite database (WAL) per directory, shared by every client of this extension.

    WAL lets readers proceed during a write and survives a crash at any point; a single
    connection guarded by a lock keeps writes from different threads serialized.
    """

    def __init__(self, settings, config) -> None:
        self.settings = settings
        self.config = config
        self.lock = threading.RLock()
        self.db: sqlite3.Connection | None = None

    @property
    def path(self) -> str:
        return os.path.join(self.config.directory, DB_NAME)

    def start(self, host) -> None:
        d = self.config.directory
        if not os.path.isdir(d):
            if not self.config.create_directory:
                raise RuntimeError(f"file_storage directory {d} does not exist (set create_directory: true to create it)")
            os.makedirs(d, mode=int(self.config.directory_permissions, 8), exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=max(self.config.timeout, 0.001), check_same_thread=False,
                                  isolation_level="DEFERRED")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={'FULL' if self.config.fsync else 'NORMAL'}")
        self.db.execute("CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (ns, key)) WITHOUT ROWID")
        self.db.commit()
        if self.config.compaction.on_start:
            self.db.execute("VACUUM")

    def client(self, kind: str, component_id: str, name: str = "") -> StorageClient:
        if self.db is None:
            raise RuntimeError(f"extension {self.settings.id} is not started")
        return StorageClient(self, f"{kind}/{component_id}/{name}")

    def shutdown(self, deadline: float) -> None:
        with self.lock:
            if self.db is not None:
                try:
                    self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                finally:
                    self.db.close()
                    self.db = None
