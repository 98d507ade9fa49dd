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

import collections
import json
import os
import ssl
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from collector.k8s.fakeapi.list_watch import WatchHandle, _status, serve_list, serve_watch
from collector.k8s.fakeapi.selectors import SelectorError
from collector.k8s.fakeapi.store import Conflict, Gone, NotFound, ObjectStore, ResourceKey


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
        key, namespace, name, sub = route
        if sub == "proxy" and method == "GET" and key.plural == "nodes":
            # the API server's node proxy: /api/v1/nodes/<node>/proxy/<kubelet path>
            tail = urlsplit(self.path).path.split("/proxy/", 1)[-1]
            body = srv.node_proxy.get((name, tail))
            if body is None:
                return self._send_json(404, _status(404, "NotFound", f"no proxy response for {name}/{tail}"))
            return self._send_json(200, body)
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        try:
            if method == "GET" and name is None:
                if query.get("watch") in ("true", "1"):
                    return serve_watch(self, key, namespace, query)
                return serve_list(self, key, namespace, query)
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

class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    fake: "FakeAPIServer"

    def handle_error(self, request, client_address):
        # Clients that hang up (stopped informers, dropped connections) are routine here.
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            super().handle_error(request, client_address)


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
        # (node, kubelet path) -> JSON body served at /api/v1/nodes/<node>/proxy/<path>
        self.node_proxy: dict[tuple[str, str], dict] = {}
        self.stopping = threading.Event()
        self._watches: set[WatchHandle] = set()
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

    def register_watch(self, w: WatchHandle) -> None:
        with self._watch_lock:
            self._watches.add(w)

    def unregister_watch(self, w: WatchHandle) -> None:
        with self._watch_lock:
            self._watches.discard(w)

    @property
    def open_watches(self) -> int:
        with self._watch_lock:
            return sum(1 for w in self._watches if not w.dead)
