"""List and watch for the fake API server: pages with limit/continue, and the chunked watch
stream (ADDED/MODIFIED/DELETED/BOOKMARK, ERROR 410) with the drop/stall fault injection."""

from __future__ import annotations

import base64
import json
import socket
import time

from collector.k8s.fakeapi.selectors import parse_field_selector, parse_label_selector
from collector.k8s.fakeapi.store import Gone, ResourceKey

_WATCH_POLL_SECONDS = 0.1


def _status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class WatchHandle:
    """One open watch connection, so drop_watches()/stall() can reach it."""

    def __init__(self) -> None:
        self.drop = False
        self.dead = False


# -- list -------------------------------------------------------------------------------
def serve_list(handler, key: ResourceKey, namespace: str | None, query: dict) -> None:
    store = handler.server.fake.store
    label_pred = parse_label_selector(query.get("labelSelector"))
    field_pred = parse_field_selector(query.get("fieldSelector"))
    rv, objs = store.snapshot(key, namespace)
    after = None
    if query.get("continue"):
        try:
            token = json.loads(base64.urlsafe_b64decode(query["continue"]))
            rv, after = int(token["rv"]), tuple(token["after"])
        except (ValueError, KeyError, TypeError):
            raise ValueError("invalid continue token")
        if rv < store.compacted_rv:
            raise Gone("The provided continue parameter is too old to display a consistent "
                       "list result. You can start a new list without the continue parameter.")
    # The fake serves continuation pages from current state rather than a snapshot at the
    # first page's resourceVersion; events in between are replayed by the watch anyway.
    items = [o for o in objs if label_pred(o) and field_pred(o)
             and (after is None or (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after)]
    meta: dict = {"resourceVersion": str(rv)}
    limit = int(query.get("limit") or 0)
    if limit > 0 and len(items) > limit:
        last = items[limit - 1]["metadata"]
        token = {"rv": rv, "after": [last.get("namespace", ""), last["name"]]}
        meta["continue"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
        meta["remainingItemCount"] = len(items) - limit
        items = items[:limit]
    api_version = f"{key.group}/{key.version}" if key.group else key.version
    handler._send_json(200, {"kind": store.kind_of(key) + "List", "apiVersion": api_version,
                          "metadata": meta, "items": items})

# -- watch ------------------------------------------------------------------------------
def _chunk(handler, event: dict) -> None:
    data = json.dumps(event, separators=(",", ":")).encode() + b"\n"
    handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

def serve_watch(handler, key: ResourceKey, namespace: str | None, query: dict) -> None:
    fake = handler.server.fake
    store = fake.store
    label_pred = parse_label_selector(query.get("labelSelector"))
    field_pred = parse_field_selector(query.get("fieldSelector"))
    matches = lambda o: o is not None and label_pred(o) and field_pred(o)  # noqa: E731
    timeout = float(query.get("timeoutSeconds") or fake.default_watch_timeout)
    bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
    rv_param = query.get("resourceVersion") or "0"
    initial: list[dict] = []
    gone = False
    with store.cond:
        pos = store.history_base + len(store.history)
        if rv_param == "0":
            _, initial = store.snapshot(key, namespace)
        else:
            rv = int(rv_param)
            if rv < store.compacted_rv:
                gone = True
            else:
                # history is sorted by rv: step back over the entries newer than rv
                i = len(store.history)
                while i > 0 and store.history[i - 1].rv > rv:
                    i -= 1
                pos = store.history_base + i
    if gone and fake.gone_as_http:
        return handler._send_json(410, _status(410, "Expired", f"too old resource version: {rv_param}"))
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    kind = store.kind_of(key)
    api_version = f"{key.group}/{key.version}" if key.group else key.version
    if gone:
        _chunk(handler, {"type": "ERROR", "object": _status(
            410, "Expired", f"too old resource version: {rv_param} ({store.compacted_rv})")})
        handler.wfile.write(b"0\r\n\r\n")
        return
    watch = WatchHandle()
    fake.register_watch(watch)
    try:
        for obj in initial:
            if matches(obj):
                _chunk(handler, {"type": "ADDED", "object": obj})
        deadline = time.monotonic() + timeout
        next_bookmark = time.monotonic() + fake.bookmark_interval
        while time.monotonic() < deadline and not fake.stopping.is_set():
            if watch.drop:
                # Cut the TCP stream with no chunked terminator: a protocol error client-side.
                handler.connection.shutdown(socket.SHUT_RDWR)
                handler.close_connection = True
                return
            if watch.dead:
                # A hung server: send nothing, ever. Only the client's read timeout ends it.
                fake.stopping.wait(_WATCH_POLL_SECONDS)
                continue
            with store.cond:
                if pos >= store.history_base + len(store.history):
                    store.cond.wait(_WATCH_POLL_SECONDS)
                pos = max(pos, store.history_base)
                entries = store.history[pos - store.history_base:]
                pos += len(entries)
                current_rv = store.rv
            for e in entries:
                if e.resource != key or watch.drop or watch.dead:
                    continue
                if namespace is not None and e.obj["metadata"].get("namespace") != namespace:
                    continue
                now_match = matches(e.obj)
                if e.type == "MODIFIED":
                    was_match = matches(e.old)
                    # Selector transitions look like adds/deletes to a filtered watch.
                    if now_match and not was_match:
                        _chunk(handler, {"type": "ADDED", "object": e.obj})
                    elif was_match and not now_match:
                        _chunk(handler, {"type": "DELETED", "object": e.obj})
                    elif now_match:
                        _chunk(handler, {"type": "MODIFIED", "object": e.obj})
                elif now_match:
                    _chunk(handler, {"type": e.type, "object": e.obj})
            if bookmarks and time.monotonic() >= next_bookmark and not watch.dead:
                next_bookmark = time.monotonic() + fake.bookmark_interval
                _chunk(handler, {"type": "BOOKMARK", "object": {
                    "kind": kind, "apiVersion": api_version,
                    "metadata": {"resourceVersion": str(current_rv)}}})
        if watch.dead or watch.drop:
            handler.connection.shutdown(socket.SHUT_RDWR)
            handler.close_connection = True
            return
        handler.wfile.write(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError, OSError):
        handler.close_connection = True
    finally:
        fake.unregister_watch(watch)
