"""In-process harness for filelog tests: a recording consumer with scripted acks, a host with
a real file_storage extension, and helpers that decode what was delivered."""
from __future__ import annotations

import contextlib
import logging
import threading
import time

from collector.component import ComponentID, CreateSettings, Refused
from collector.config import decode
from collector.extensions.file_storage import FileStorage
from collector.extensions.file_storage.config import Config as StorageConfig
from collector.receivers.filelog import Config
from collector.receivers.filelog.receiver import FilelogReceiver
from collector.telemetry import Telemetry
from collector.testing import wait_until


class RecordingConsumer:
    """Records payloads. mode: "ack" (ack True at once), "hold" (test acks by hand),
    "nack" (ack False at once). refuse_times: raise Refused that many times first."""

    def __init__(self, mode: str = "ack", refuse_times: int = 0) -> None:
        self.mode = mode
        self.refuse_times = refuse_times
        self.refused = 0
        self.payloads = []
        self.delivered = []  # requests acknowledged True
        self.held = []
        self.lock = threading.Lock()

    def consume(self, payload) -> None:
        with self.lock:
            if self.refused < self.refuse_times:
                self.refused += 1
                payload.ack(False)
                raise Refused("full")
            self.payloads.append(payload.request)
            mode = self.mode
            if mode == "hold":
                self.held.append(payload)
        if mode == "ack":
            with self.lock:
                self.delivered.append(payload.request)
            payload.ack(True)
        elif mode == "nack":
            payload.ack(False)

    def release(self, ok: bool = True, n: int | None = None) -> int:
        with self.lock:
            take = self.held if n is None else self.held[:n]
            self.held = [] if n is None else self.held[n:]
        for p in take:
            if ok:
                with self.lock:
                    self.delivered.append(p.request)
            p.ack(ok)
        return len(take)

    def records(self, delivered: bool = False):
        with self.lock:
            reqs = list(self.delivered if delivered else self.payloads)
        out = []
        for req in reqs:
            for rl in req.resource_logs:
                res = {kv.key: kv.value.string_value for kv in rl.resource.attributes}
                for sl in rl.scope_logs:
                    for lr in sl.log_records:
                        out.append((res, lr))
        return out

    def bodies(self, delivered: bool = False) -> list[str]:
        return [lr.body.string_value for _, lr in self.records(delivered)]

    def count(self) -> int:
        return len(self.records())


class Host:
    def __init__(self, storage_dir=None) -> None:
        self.telemetry = Telemetry()
        self.extensions = {}
        if storage_dir is not None:
            ext = FileStorage(settings("extension", "file_storage", self.telemetry),
                              decode(StorageConfig, {"directory": str(storage_dir), "create_directory": True}))
            ext.start(self)
            self.extensions["file_storage"] = ext

    def get_extension(self, cid):
        return self.extensions[cid]

    def report_status(self, *a, **k):
        pass

    def close(self):
        for e in self.extensions.values():
            e.shutdown(time.monotonic() + 1)


def settings(kind: str, cid: str, telemetry: Telemetry) -> CreateSettings:
    comp = ComponentID.parse(cid)
    return CreateSettings(id=comp, kind=kind, logger=logging.getLogger(f"collector.{kind}.{cid}"),
                          telemetry=telemetry.component(kind, cid))


def make_receiver(consumer, host: Host, raw: dict, **kw) -> FilelogReceiver:
    raw = dict(raw)
    raw.setdefault("poll_interval", "20ms")
    if "file_storage" in host.extensions:
        raw.setdefault("storage", "file_storage")
    cfg = decode(Config, raw, "receivers.filelog")
    r = FilelogReceiver(settings("receiver", "filelog", host.telemetry), cfg, consumer, **kw)
    r.start(host)
    return r


def stop(r: FilelogReceiver, timeout: float = 5.0) -> None:
    r.shutdown(time.monotonic() + timeout)


@contextlib.contextmanager
def running(started: tuple[Host, FilelogReceiver]):
    """`with running(start(...)) as (host, r):` stops the receiver, then its storage."""
    host, r = started
    try:
        yield host, r
    finally:
        stop(r)
        host.close()


def wait_count(consumer: RecordingConsumer, n: int, timeout: float = 10.0) -> bool:
    return wait_until(lambda: consumer.count() >= n, timeout)


CRI_TS = "2026-12-03T10:15:00.{:09d}Z"


def cri(i: int, msg: str, tag: str = "F", stream: str = "stdout") -> str:
    return f"{CRI_TS.format(i)} {stream} {tag} {msg}\n"


POD_DIR = "ns1_pod-a_0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


# Files under a pod's log directory, written with numbered CRI lines `line <i>`.
OP = [{"type": "container"}]


def pod_file(tmp_path, name="0.log", container="app"):
    d = tmp_path / "pods" / POD_DIR / container
    d.mkdir(parents=True, exist_ok=True)
    return d / name


def write(path, start, stop_, mode="a", tag="F"):
    with open(path, mode) as f:
        f.write("".join(cri(i, f"line {i}", tag) for i in range(start, stop_)))


def expect(c, n, timeout=10.0):
    """The bodies delivered once n arrived, in line order; a duplicate would show by then."""
    wait_until(lambda: c.count() >= n, timeout)
    time.sleep(0.2)
    return sorted(c.bodies(), key=lambda b: int(b.split()[-1]))


def lines(a, b):
    return [f"line {i}" for i in range(a, b)]
