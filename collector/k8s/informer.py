"""A list-then-watch cache of one Kubernetes resource, in the spirit of client-go's reflector.

Loop: paginated list (limit/continue) -> watch from the list's resourceVersion with bookmarks, a
server-side timeoutSeconds and a client read timeout -> on a normal end, a read timeout or a
protocol error, watch again from the last resourceVersion seen (bookmarks included) -> on 410 Gone
(HTTP status, ERROR event, or an expired continue token) relist and diff against the cache, so
objects deleted while we were away are reported as deletes.

The client read timeout matters: without it the client's watch hangs forever on a dead
connection (kubernetes-client/python#1148). Everything is raw JSON (`_preload_content=False`)
and `transform` reduces each object to the slim record consumers need, so 10k pods stay cheap; a
transform that returns None (or raises) leaves the object out of the cache.
Callbacks run on the informer's thread; an exception in one is logged and counted, never fatal.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from typing import Any, Callable

from collector.k8s.client import APIError, request, resource_path
from collector.k8s.informer_metrics import InformerStats, metric_families

Transform = Callable[[dict], Any]


class _Gone(Exception):
    """The resourceVersion we hold was compacted away: relist."""


class Informer:
    def __init__(self, api_client, resource: str = "pods", group: str = "", version: str = "v1",
                 namespace: str | None = None, label_selector: str | None = None,
                 field_selector: str | None = None, transform: Transform | None = None,
                 on_add: Callable[[Any], None] | None = None,
                 on_update: Callable[[Any, Any], None] | None = None,
                 on_delete: Callable[[Any], None] | None = None, page_size: int = 500,
                 watch_timeout_seconds: int = 300, read_timeout_seconds: float = 330,
                 logger: logging.Logger | None = None, telemetry=None,
                 backoff_initial: float = 0.5, backoff_max: float = 30.0,
                 connect_timeout: float = 10.0):
        self.api_client = api_client
        self.resource = resource
        self.group = group
        self.version = version
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.transform = transform or (lambda obj: obj)
        self.on_add = on_add
        self.on_update = on_update
        self.on_delete = on_delete
        self.page_size = page_size
        self.watch_timeout_seconds = int(watch_timeout_seconds)
        self.read_timeout_seconds = float(read_timeout_seconds)
        self.connect_timeout = connect_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.logger = logger or logging.getLogger(f"collector.k8s.informer.{resource}")
        self.stats = InformerStats()
        self._metrics = metric_families(telemetry)
        self.last_resource_version: str | None = None
        # (namespace, name) -> (resourceVersion, record)
        self._store: dict[tuple[str, str], tuple[str, Any]] = {}
        self._lock = threading.RLock()
        self._synced = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._response = None  # the open watch response, so stop() can cut it
        self._delivered = False  # the current watch applied at least one event
        self._path = resource_path(group, version, resource, namespace)
        self._label = f"{group}/{version}/{resource}" if group else f"{version}/{resource}"

    # -- public -----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=f"informer-{self.resource}", daemon=True)
        self._thread.start()

    def wait_synced(self, timeout: float | None = None) -> bool:
        return self._synced.wait(timeout)

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    def items(self) -> list:
        with self._lock:
            return [record for _, record in self._store.values()]

    def get(self, namespace: str | None, name: str):
        with self._lock:
            entry = self._store.get((namespace or "", name))
            return entry[1] if entry else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._store)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopped.set()
        self._cut_stream()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- loop -------------------------------------------------------------------------------
    def _run(self) -> None:
        need_list = True
        failures = 0
        while not self._stopped.is_set():
            self._delivered = False
            try:
                if need_list:
                    self._list()
                    need_list = False
                began = time.monotonic()
                self._watch()
                if self._delivered or time.monotonic() - began >= 1.0:
                    failures = 0
                else:
                    # an empty watch that ended at once (a misbehaving proxy?) must not spin
                    failures += 1
                    if failures > 1:
                        self._stopped.wait(min(self.backoff_max, self.backoff_initial * 2 ** min(failures - 2, 10)))
            except _Gone:
                need_list = True
                self.stats.relists += 1
                self._count("relists")
                self.logger.info("%s: resourceVersion %s expired, relisting", self._label,
                                 self.last_resource_version)
                # one relist is routine; 410 after 410 with nothing in between is not
                failures = 0 if self._delivered else failures + 1
                if failures > 1:
                    self._stopped.wait(min(self.backoff_max, self.backoff_initial * 2 ** min(failures - 2, 10)))
            except Exception as e:  # noqa: BLE001 - any failure: back off, then resume or relist
                if self._stopped.is_set():
                    break
                if self._delivered:
                    failures = 0  # the stream worked for a while: this break is not a streak
                failures += 1
                self.stats.errors += 1
                reason = self._error_reason(e)
                self._count("errors", reason=reason)
                # A read timeout or a cut stream resumes immediately the first time (it is the
                # normal life of a long watch); repeated failures back off with jitter.
                if failures > 1 or reason == "api_error":
                    delay = min(self.backoff_max, self.backoff_initial * 2 ** min(failures - 1, 10))
                    delay *= random.uniform(0.5, 1.0)
                    self.logger.warning("%s: %s (%s); retrying in %.1fs", self._label, reason, e, delay)
                    self._stopped.wait(delay)

    @staticmethod
    def _error_reason(e: Exception) -> str:
        import urllib3

        if isinstance(e, APIError):
            return "api_error"
        if isinstance(e, urllib3.exceptions.ReadTimeoutError) or isinstance(e, TimeoutError):
            return "read_timeout"
        if isinstance(e, (urllib3.exceptions.ProtocolError, ConnectionError)):
            return "protocol_error"
        if isinstance(e, urllib3.exceptions.HTTPError) or isinstance(e, OSError):
            return "connection_error"
        return type(e).__name__

    def _count(self, family: str, **labels) -> None:
        if self._metrics is not None:
            try:
                self._metrics[family].labels(resource=self._label, **labels).inc()
            except Exception:  # noqa: BLE001 - self-telemetry must never break the informer
                pass

    # -- list -------------------------------------------------------------------------------
    def _list(self) -> None:
        fresh: dict[tuple[str, str], tuple[str, Any]] = {}
        cont = None
        list_rv = None
        for _ in range(1_000_000):  # bounded: a page cannot be empty and still continue forever
            query = {"limit": self.page_size, "continue": cont,
                     "labelSelector": self.label_selector, "fieldSelector": self.field_selector}
            self.stats.lists += 1
            self._count("requests", verb="list")
            try:
                body = request(self.api_client, "GET", self._path, query=query,
                               timeout=(self.connect_timeout, self.read_timeout_seconds))
            except APIError as e:
                if e.status == 410:
                    raise _Gone() from e  # continue token expired: start the list over
                raise
            meta = body.get("metadata") or {}
            if list_rv is None:
                list_rv = meta.get("resourceVersion")
            for raw in body.get("items") or []:
                key, rv = self._key_rv(raw)
                if key is None:
                    self._bad_event()
                    continue
                record = self._transform(raw)
                if record is not None:
                    fresh[key] = (rv, record)
            cont = meta.get("continue")
            if not cont:
                break
        self._replace(fresh)
        self.last_resource_version = list_rv
        self._synced.set()

    def _replace(self, fresh: dict) -> None:
        """Swaps in a relisted state, reporting the difference as add/update/delete."""
        with self._lock:
            old = self._store
            self._store = fresh
        for key, (rv, record) in fresh.items():
            before = old.get(key)
            if before is None:
                self._call(self.on_add, record)
            elif before[0] != rv:
                self._call(self.on_update, before[1], record)
        for key, (_rv, record) in old.items():
            if key not in fresh:
                self._call(self.on_delete, record)

    # -- watch ------------------------------------------------------------------------------
    def _watch(self) -> None:
        query = {"watch": "true", "resourceVersion": self.last_resource_version,
                 "allowWatchBookmarks": "true", "timeoutSeconds": self.watch_timeout_seconds,
                 "labelSelector": self.label_selector, "fieldSelector": self.field_selector}
        self.stats.watches += 1
        self._count("requests", verb="watch")
        try:
            resp = request(self.api_client, "GET", self._path, query=query, stream=True,
                           timeout=(self.connect_timeout, self.read_timeout_seconds))
        except APIError as e:
            if e.status == 410:
                raise _Gone() from e  # some servers answer a too-old watch with HTTP 410
            raise
        self._response = resp
        try:
            if self._stopped.is_set():
                return
            buf = b""
            for chunk in resp.stream(65536, decode_content=True):
                # One split per chunk: a chunk can hold hundreds of small events.
                *lines, buf = (buf + chunk).split(b"\n")
                for line in lines:
                    if line.strip():
                        self._apply(line)
                if self._stopped.is_set():
                    break
            else:
                if buf.strip():
                    self._apply(buf)
        finally:
            self._response = None
            resp.release_conn()
            resp.close()

    def _apply(self, line: bytes) -> None:
        try:
            event = json.loads(line)
            etype = event["type"]
            obj = event["object"]
        except (ValueError, KeyError, TypeError):
            self._bad_event()
            return
        if etype == "ERROR":
            status = obj if isinstance(obj, dict) else {}
            if status.get("code") == 410:
                raise _Gone()
            raise APIError(status.get("code") or 0, status.get("reason", "ERROR event"), status)
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        rv = (meta or {}).get("resourceVersion")
        self._delivered = True
        if etype == "BOOKMARK":
            if rv:
                self.last_resource_version = rv
            self.stats.bookmarks += 1
            self._count("events", type="BOOKMARK")
            return
        key, rv = self._key_rv(obj)
        if key is None or etype not in ("ADDED", "MODIFIED", "DELETED"):
            self._bad_event()
            return
        self.stats.events += 1
        self._count("events", type=etype)
        if etype == "DELETED":
            with self._lock:
                before = self._store.pop(key, None)
            self.last_resource_version = rv
            if before is not None:
                # the last state we knew: consumers index by what they stored, not by the
                # tombstone the server sends
                self._call(self.on_delete, before[1])
            return
        record = self._transform(obj)
        with self._lock:
            before = self._store.get(key)
            if record is None:
                self._store.pop(key, None)
            else:
                self._store[key] = (rv, record)
        self.last_resource_version = rv
        if record is None:
            # transform said "not interesting" (or failed): a record we held is now gone
            if before is not None:
                self._call(self.on_delete, before[1])
        elif before is None:
            self._call(self.on_add, record)
        else:
            self._call(self.on_update, before[1], record)

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _key_rv(obj) -> tuple[tuple[str, str] | None, str]:
        """((namespace, name), resourceVersion); key None for an object without a name."""
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        if not isinstance(meta, dict) or not meta.get("name"):
            return None, ""
        return (meta.get("namespace") or "", meta["name"]), str(meta.get("resourceVersion") or "")

    def _bad_event(self) -> None:
        self.stats.bad_events += 1
        self._count("errors", reason="bad_event")

    def _transform(self, obj: dict):
        try:
            return self.transform(obj)
        except Exception:  # noqa: BLE001 - a malformed object must not stop the informer
            self.stats.callback_errors += 1
            self._count("errors", reason="transform")
            self.logger.exception("%s: transform failed for %s", self._label,
                                  (obj.get("metadata") or {}).get("name"))
            return None

    def _call(self, callback, *args) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:  # noqa: BLE001 - a consumer's bug must not stop the watch
            self.stats.callback_errors += 1
            self._count("errors", reason="callback")
            self.logger.exception("%s: event handler failed", self._label)

    def _cut_stream(self) -> None:
        resp = self._response
        if resp is None:
            return
        try:
            resp.shutdown()  # urllib3 >= 2.3: unblocks a recv() in another thread
        except Exception:  # noqa: BLE001
            try:
                resp.close()
            except Exception:  # noqa: BLE001
                pass
