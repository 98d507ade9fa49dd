"""A small HTTP server that speaks enough of the Kubernetes API for informers, leader election
and webhooks to run unchanged against it.

Supported: GET (get, list with limit/continue and label/field selectors, watch as a chunked JSON
stream with ADDED/MODIFIED/DELETED/BOOKMARK and ERROR 410), POST (201, 409 AlreadyExists), PUT
(409 Conflict on a stale resourceVersion), PATCH (JSON merge patch), DELETE, for core v1 and any
/apis/<group>/<version> resource, namespaced or cluster-scoped.

Fault injection for tests: drop_watches() cuts every open watch without the chunked terminator
(a protocol error on the client), stall(seconds) freezes open watches forever and holds new
requests for the window (only the client's read timeout gets it out), compact() forgets history.
"""

from __future__ import annotations

import base64
import collections
import json
import os
import socket
import ssl
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from collector.k8s.fakeapi.selectors import SelectorError, parse_field_selector, parse_label_selector
from collector.k8s.fakeapi.store import Conflict, Gone, NotFound, ObjectStore, ResourceKey

_WATCH_POLL_SECONDS = 0.1


def _status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def _merge_patch(target, patch):
    # RFC 7386; also what the API server does for strategic merge on the fields tests use.
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = _merge_patch(result.get(k), v)
    return result


class _Watch:
    """One open watch connection, so drop_watches()/stall() can reach it."""

    def __init__(self) -> None:
        self.drop = False
        self.dead = False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_HTTPServer"

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    # -- plumbing ---------------------------------------------------------------------------
    def _send_json(self, code: int, body: dict) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else {}

    def _route(self):
        parts = [p for p in urlsplit(self.path).path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        namespace = name = sub = None
        if rest and rest[0] == "namespaces" and len(rest) >= 3:
            namespace, plural, tail = rest[1], rest[2], rest[3:]
        elif rest:
            plural, tail = rest[0], rest[1:]
        else:
            return None
        if tail:
            name = tail[0]
            sub = tail[1] if len(tail) > 1 else None
        return ResourceKey(group, version, plural), namespace, name, sub

    def _dispatch(self, method: str) -> None:
        srv = self.server.fake
        srv.requests.append((method, self.path))
        srv.wait_out_stall()
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        # the auth scheme is case-insensitive: the in-cluster loader sends "bearer <token>"
        if srv.token and (scheme.lower() != "bearer" or token.strip() != srv.token):
            return self._send_json(401, _status(401, "Unauthorized", "Unauthorized"))
        path = urlsplit(self.path).path
        if path in ("/healthz", "/readyz", "/livez"):
            data = b"ok"
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(data)
            return
        if path == "/version":
            return self._send_json(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0-fake"})
        route = self._route()
        if route is None:
            return self._send_json(404, _status(404, "NotFound", "the server could not find the requested resource"))
        key, namespace, name, _sub = route
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        try:
            if method == "GET" and name is None:
                if query.get("watch") in ("true", "1"):
                    return self._watch(key, namespace, query)
                return self._list(key, namespace, query)
            if method == "GET":
                return self._send_json(200, srv.store.get(key, namespace, name))
            if method == "POST":
                obj = self._complete(self._read_body(), key, namespace)
                return self._send_json(201, srv.store.create(obj, key))
            if method == "PUT":
                obj = self._complete(self._read_body(), key, namespace)
                obj["metadata"]["name"] = name
                return self._send_json(200, srv.store.update(obj, key, check_rv=True))
            if method == "PATCH":
                current = srv.store.get(key, namespace, name)
                patched = _merge_patch(current, self._read_body())
                patched["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                return self._send_json(200, srv.store.update(patched, key))
            if method == "DELETE":
                return self._send_json(200, srv.store.delete(key, namespace, name))
        except NotFound as e:
            return self._send_json(404, _status(404, "NotFound", str(e)))
        except Conflict as e:
            return self._send_json(409, _status(409, e.reason, str(e)))
        except Gone as e:
            return self._send_json(410, _status(410, "Expired", str(e)))
        except (SelectorError, ValueError) as e:
            return self._send_json(400, _status(400, "BadRequest", str(e)))
        return self._send_json(405, _status(405, "MethodNotAllowed", method))

    def _complete(self, obj: dict, key: ResourceKey, namespace: str | None) -> dict:
        if not isinstance(obj, dict):
            raise ValueError("body must be a JSON object")
        store = self.server.fake.store
        obj.setdefault("apiVersion", f"{key.group}/{key.version}" if key.group else key.version)
        obj.setdefault("kind", store.kind_of(key))
        store.register(key, obj["kind"], namespace is not None)
        meta = obj.setdefault("metadata", {})
        if namespace:
            meta["namespace"] = namespace
        return obj

    do_GET = lambda self: self._dispatch("GET")  # noqa: E731
    do_POST = lambda self: self._dispatch("POST")  # noqa: E731
    do_PUT = lambda self: self._dispatch("PUT")  # noqa: E731
    do_PATCH = lambda self: self._dispatch("PATCH")  # noqa: E731
    do_DELETE = lambda self: self._dispatch("DELETE")  # noqa: E731

    # -- list -------------------------------------------------------------------------------
    def _list(self, key: ResourceKey, namespace: str | None, query: dict) -> None:
        store = self.server.fake.store
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
        self._send_json(200, {"kind": store.kind_of(key) + "List", "apiVersion": api_version,
                              "metadata": meta, "items": items})

    # -- watch ------------------------------------------------------------------------------
    def _chunk(self, event: dict) -> None:
        data = json.dumps(event, separators=(",", ":")).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _watch(self, key: ResourceKey, namespace: str | None, query: dict) -> None:
        fake = self.server.fake
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
            return self._send_json(410, _status(410, "Expired", f"too old resource version: {rv_param}"))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        kind = store.kind_of(key)
        api_version = f"{key.group}/{key.version}" if key.group else key.version
        if gone:
            self._chunk({"type": "ERROR", "object": _status(
                410, "Expired", f"too old resource version: {rv_param} ({store.compacted_rv})")})
            self.wfile.write(b"0\r\n\r\n")
            return
        watch = _Watch()
        fake.register_watch(watch)
        try:
            for obj in initial:
                if matches(obj):
                    self._chunk({"type": "ADDED", "object": obj})
            deadline = time.monotonic() + timeout
            next_bookmark = time.monotonic() + fake.bookmark_interval
            while time.monotonic() < deadline and not fake.stopping.is_set():
                if watch.drop:
                    # Cut the TCP stream with no chunked terminator: a protocol error client-side.
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
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
                            self._chunk({"type": "ADDED", "object": e.obj})
                        elif was_match and not now_match:
                            self._chunk({"type": "DELETED", "object": e.obj})
                        elif now_match:
                            self._chunk({"type": "MODIFIED", "object": e.obj})
                    elif now_match:
                        self._chunk({"type": e.type, "object": e.obj})
                if bookmarks and time.monotonic() >= next_bookmark and not watch.dead:
                    next_bookmark = time.monotonic() + fake.bookmark_interval
                    self._chunk({"type": "BOOKMARK", "object": {
                        "kind": kind, "apiVersion": api_version,
                        "metadata": {"resourceVersion": str(current_rv)}}})
            if watch.dead or watch.drop:
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
        finally:
            fake.unregister_watch(watch)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    fake: "FakeAPIServer"


class FakeAPIServer:
    """See the module docstring. `token`: when set, requests must carry `Bearer <token>`.
    `tls`: serve HTTPS with a self-signed certificate (`ca_file` is its path)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str | None = "fake-token",
                 tls: bool = False, bookmark_interval: float = 1.0,
                 default_watch_timeout: float = 1800.0, history_limit: int | None = None):
        self.store = ObjectStore(**({"history_limit": history_limit} if history_limit else {}))
        self.token = token
        self.bookmark_interval = bookmark_interval
        self.default_watch_timeout = default_watch_timeout
        self.gone_as_http = False       # True: answer a too-old watch with HTTP 410, not an event
        self.requests: collections.deque = collections.deque(maxlen=10_000)
        self.stopping = threading.Event()
        self._watches: set[_Watch] = set()
        self._watch_lock = threading.Lock()
        self._stall_until = 0.0
        self._tmpdir = tempfile.mkdtemp(prefix="fakeapi-")
        self.ca_file: str | None = None
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.fake = self
        if tls:
            from collector.k8s.fakeapi.certs import make_self_signed
            cert, key = make_self_signed(self._tmpdir)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
            self.ca_file = cert
        self.tls = tls
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def start(self) -> "FakeAPIServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="fake-apiserver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def write_kubeconfig(self, path: str) -> str:
        import yaml
        cluster: dict = {"server": self.url}
        if self.tls:
            cluster["certificate-authority"] = self.ca_file
        user = {"token": self.token} if self.token else {}
        cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "fake",
               "clusters": [{"name": "fake", "cluster": cluster}],
               "users": [{"name": "fake", "user": user}],
               "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}]}
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            yaml.safe_dump(cfg, f)
        return path

    # -- object writes (direct, no HTTP) ----------------------------------------------------
    def create(self, obj: dict) -> dict:
        return self.store.create(obj)

    def update(self, obj: dict) -> dict:
        return self.store.update(obj)

    def delete(self, kind_plural: str, namespace: str | None, name: str, group: str | None = None,
               version: str | None = None) -> dict:
        """group/version default to the only resource of that plural the store knows."""
        candidates = [k for k in list(self.store.kinds) if k.plural == kind_plural
                      and (group is None or k.group == group) and (version is None or k.version == version)]
        if not candidates:
            raise NotFound(f"no resource {kind_plural}")
        key = candidates[0]
        return self.store.delete(key, namespace if self.store.is_namespaced(key) else None, name)

    def get(self, kind_plural: str, namespace: str | None, name: str) -> dict:
        for key in list(self.store.kinds):
            if key.plural == kind_plural:
                return self.store.get(key, namespace if self.store.is_namespaced(key) else None, name)
        raise NotFound(f"no resource {kind_plural}")

    @property
    def resource_version(self) -> int:
        return self.store.rv

    # -- fault injection --------------------------------------------------------------------
    def compact(self) -> None:
        self.store.compact()

    def drop_watches(self) -> None:
        with self._watch_lock:
            for w in self._watches:
                w.drop = True

    def stall(self, seconds: float) -> None:
        self._stall_until = time.monotonic() + seconds
        with self._watch_lock:
            for w in self._watches:
                w.dead = True

    def wait_out_stall(self) -> None:
        remaining = self._stall_until - time.monotonic()
        if remaining > 0:
            self.stopping.wait(remaining)

    def register_watch(self, w: _Watch) -> None:
        with self._watch_lock:
            self._watches.add(w)

    def unregister_watch(self, w: _Watch) -> None:
        with self._watch_lock:
            self._watches.discard(w)

    @property
    def open_watches(self) -> int:
        with self._watch_lock:
            return sum(1 for w in self._watches if not w.dead)
