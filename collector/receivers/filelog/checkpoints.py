"""Committed file offsets, one checkpoint per file fingerprint, kept in `file_storage`.

A checkpoint is only ever written with an offset whose every earlier record was acknowledged
(FileReader.committed), so a clean restart resumes exactly after the last delivered record.
Without a `storage` extension the same table lives in memory only.

Key: `fp.<sha256(fingerprint)[:32]>`; value: JSON {"fingerprint": base64, "offset", "path"}.
A file shorter than fingerprint_size gets a longer fingerprint as it grows; the checkpoint then
moves to the new key in the same storage transaction that deletes the old one.
"""
from __future__ import annotations

import base64
import json
import logging
import threading
import time

from .fingerprint import storage_key

KEY_PREFIX = "fp."
ALIVE_KEY = "meta.alive"  # wall-clock time of the last checkpoint transaction
ALIVE_EVERY = 2.0         # seconds between refreshes of ALIVE_KEY when nothing else changes
FORGET_AFTER_POLLS = 3    # polls a checkpoint's file must be absent before it is forgotten


class Checkpoint:
    __slots__ = ("key", "fp", "offset", "path", "misses")

    def __init__(self, key: str, fp: bytes, offset: int, path: str) -> None:
        self.key = key
        self.fp = fp
        self.offset = offset
        self.path = path
        self.misses = 0


class CheckpointStore:
    def __init__(self, client=None, logger: logging.Logger | None = None, on_error=None) -> None:
        self._client = client
        self._log = logger or logging.getLogger(__name__)
        self._on_error = on_error
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._entries: dict[str, Checkpoint] = {}
        self._sets: dict[str, bytes] = {}
        self._deletes: set[str] = set()
        self.last_alive: float | None = None  # when the previous run last wrote (None: first run)
        self._alive_written = 0.0

    # Loading and lookup ----------------------------------------------------------------------
    def load(self) -> int:
        if self._client is None:
            return 0
        n = 0
        alive = self._client.get(ALIVE_KEY)
        if alive is not None:
            try:
                self.last_alive = float(alive)
            except ValueError:
                self.last_alive = None
        for key, value in self._client.items(KEY_PREFIX):
            try:
                obj = json.loads(value)
                fp = base64.b64decode(obj["fingerprint"])
                cp = Checkpoint(key, fp, int(obj["offset"]), str(obj.get("path", "")))
            except (ValueError, KeyError, TypeError):
                self._log.warning("ignoring unreadable checkpoint %s", key)
                continue
            self._entries[key] = cp
            n += 1
        return n

    def find(self, fp: bytes) -> Checkpoint | None:
        """The checkpoint of the file whose current first bytes are fp (longest prefix match)."""
        best = None
        with self._lock:
            exact = self._entries.get(storage_key(fp))
            if exact is not None and exact.fp == fp:
                return exact
            for cp in self._entries.values():
                if cp.fp and fp.startswith(cp.fp) and (best is None or len(cp.fp) > len(best.fp)):
                    best = cp
        return best

    def __len__(self) -> int:
        return len(self._entries)

    # Updates ---------------------------------------------------------------------------------
    def record(self, fp: bytes, offset: int, path: str, old_key: str | None) -> str:
        """Stage a checkpoint for the file with fingerprint fp; returns its key."""
        key = storage_key(fp)
        value = json.dumps({"fingerprint": base64.b64encode(fp).decode("ascii"),
                            "offset": offset, "path": path}).encode()
        with self._lock:
            cp = self._entries.get(key)
            if cp is None:
                cp = self._entries[key] = Checkpoint(key, fp, offset, path)
            cp.fp, cp.offset, cp.path, cp.misses = fp, offset, path, 0
            self._sets[key] = value
            self._deletes.discard(key)
            if old_key and old_key != key:
                self._entries.pop(old_key, None)
                self._sets.pop(old_key, None)
                self._deletes.add(old_key)
        return key

    def sweep(self, seen: set[str]) -> int:
        """Forget checkpoints whose file was not seen for FORGET_AFTER_POLLS polls."""
        gone = 0
        with self._lock:
            for key, cp in list(self._entries.items()):
                if key in seen:
                    cp.misses = 0
                    continue
                cp.misses += 1
                if cp.misses >= FORGET_AFTER_POLLS:
                    del self._entries[key]
                    self._sets.pop(key, None)
                    self._deletes.add(key)
                    gone += 1
        return gone

    def flush(self, now: float | None = None) -> bool:
        """Write staged changes in one transaction; on failure they stay staged for the next try.

        Each transaction also records the wall-clock time, so that the next run can tell a
        rotated file written after this run died (read it) from an old one (skip it)."""
        now = time.time() if now is None else now
        with self._flush_lock:  # one transaction at a time: an older offset never lands last
            return self._flush(now)

    def _flush(self, now: float) -> bool:
        with self._lock:
            if not self._sets and not self._deletes and now - self._alive_written < ALIVE_EVERY:
                return True
            sets, deletes = self._sets, list(self._deletes)
            self._sets, self._deletes = {}, set()
        if self._client is None:
            return True
        self._alive_written = now
        sets[ALIVE_KEY] = repr(now).encode()
        try:
            self._client.batch(sets, deletes)
            return True
        except Exception as e:  # storage closed or disk full: keep the data, never crash
            self._log.warning("writing %d checkpoints failed: %s", len(sets), e)
            if self._on_error:
                self._on_error()
            with self._lock:
                for k, v in sets.items():
                    if k != ALIVE_KEY:
                        self._sets.setdefault(k, v)
                self._deletes.update(d for d in deletes if d not in self._sets)
            return False

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:
                pass
