"""The HTTPS mutating admission webhook: `POST /mutate-v1-pod` answers AdmissionReview requests
as the OpenTelemetry Operator's webhook does; `/healthz`, `/readyz` and `/metrics` for the kubelet
and Prometheus.

It never refuses a pod: a malformed review, an unknown Instrumentation or our own bug all answer
`allowed: true` with the reason in `status.message` (and the chart registers the webhook with
`failurePolicy: Ignore`, so even a crash cannot block pod creation).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from collector.operator import jsonpatch
from collector.operator.mutator import Mutator

MUTATE_PATH = "/mutate-v1-pod"
MAX_BODY = 3 * 1024 * 1024  # the API server's own request size limit is 3 MiB
MAX_CONCURRENT = 16
CERT_CHECK_INTERVAL = 10.0


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        self.reviews = Counter("skuber_operator_admission_reviews", "AdmissionReviews answered, by outcome",
                               ["outcome"], registry=self.registry)
        self.injections = Counter("skuber_operator_injections", "Containers instrumented, by language",
                                  ["language"], registry=self.registry)
        self.rejected_connections = Counter(
            "skuber_operator_rejected_connections",
            "Connections closed unanswered because MAX_CONCURRENT reviews were in flight",
            registry=self.registry)
        self.connection_errors = Counter(
            "skuber_operator_connection_errors", "Connections that failed (TLS handshake, hang-up)",
            registry=self.registry)
        self.invalid_instrumentations = Counter(
            "skuber_operator_invalid_instrumentations", "Instrumentation objects skipped as invalid",
            registry=self.registry)


def _allowed(uid: str, api_version: str, message: str = "", code: int = 200,
             patch: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"uid": uid, "allowed": True}
    if patch:
        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(json.dumps(patch).encode()).decode()
    if message:
        response["status"] = {"code": code, "message": message}
    return {"apiVersion": api_version, "kind": "AdmissionReview", "response": response}


class AdmissionHandler:
    """AdmissionReview JSON in, AdmissionReview JSON out: all of the webhook but the transport."""

    def __init__(self, mutator: Mutator, metrics: Metrics, logger: logging.Logger | None = None):
        self.mutator = mutator
        self.metrics = metrics
        self.log = logger or logging.getLogger("collector.operator.webhook")

    def review(self, body: bytes) -> dict[str, Any]:
        api_version = "admission.k8s.io/v1"
        try:
            review = json.loads(body)
            if not isinstance(review, dict):
                raise ValueError("an AdmissionReview object is required")
            api_version = review.get("apiVersion") if review.get("apiVersion") in (
                "admission.k8s.io/v1", "admission.k8s.io/v1beta1") else api_version
            request = review.get("request")
            if not isinstance(request, dict) or not isinstance(request.get("uid"), str):
                raise ValueError("request.uid is required")
        except (ValueError, RecursionError) as err:  # RecursionError: JSON nested too deep
            self.metrics.reviews.labels(outcome="malformed").inc()
            self.log.warning("malformed AdmissionReview: %s", err)
            return _allowed("", api_version, f"malformed AdmissionReview: {err}", 400)
        uid = request["uid"]
        pod = request.get("object")
        # The chart registers us for pods only; a request that names no kind is taken as one.
        kind_ref = request.get("kind")
        kind = kind_ref.get("kind") if isinstance(kind_ref, dict) else ("Pod" if kind_ref is None else None)
        if kind != "Pod" or not isinstance(pod, dict):
            self.metrics.reviews.labels(outcome="malformed").inc()
            return _allowed(uid, api_version, "request.object is not a Pod", 400)
        if request.get("operation", "CREATE") != "CREATE":
            self.metrics.reviews.labels(outcome="unchanged").inc()
            return _allowed(uid, api_version)
        namespace = request.get("namespace") or (pod.get("metadata") or {}).get("namespace") or "default"
        try:
            result = self.mutator.mutate(pod, namespace)
            patch = jsonpatch.diff(pod, result.pod)
        except Exception as err:  # a bug of ours must not block a pod: allow and say why
            self.metrics.reviews.labels(outcome="error").inc()
            self.log.exception("failed to mutate pod in %s", namespace)
            return _allowed(uid, api_version, f"instrumentation failed: {err}", 500)
        name = (pod.get("metadata") or {}).get("name") or (pod.get("metadata") or {}).get("generateName", "")
        for lang, containers in result.injected.items():
            self.metrics.injections.labels(language=lang).inc(len(containers))
            self.log.info("injected %s instrumentation into %s/%s containers %s", lang, namespace, name,
                          containers)
        if result.reason:
            self.log.info("pod %s/%s: %s", namespace, name, result.reason)
        outcome = "injected" if patch else ("error" if result.error else ("skipped" if result.reason else "unchanged"))
        self.metrics.reviews.labels(outcome=outcome).inc()
        return _allowed(uid, api_version, result.reason, 500 if result.error else 200, patch)


class CertReloader:
    """Serves the newest certificate: cert-manager renews the Secret in place, and the kubelet
    updates the mounted files; we pick them up on the next handshake (checked every 10 s)."""

    def __init__(self, certfile: str, keyfile: str):
        self.certfile, self.keyfile = certfile, keyfile
        self._lock = threading.Lock()
        self._stamp = self._mtimes()
        self._checked = time.monotonic()
        self.context = self._load()

    def _mtimes(self) -> tuple[float, float]:
        try:
            return os.stat(self.certfile).st_mtime, os.stat(self.keyfile).st_mtime
        except OSError:
            return (0.0, 0.0)

    def _load(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.certfile, self.keyfile)
        ctx.sni_callback = self._on_hello
        return ctx

    def _on_hello(self, sslobj: ssl.SSLObject, _server_name: str | None, _ctx: ssl.SSLContext) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._checked >= CERT_CHECK_INTERVAL:
                self._checked = now
                stamp = self._mtimes()
                if stamp != self._stamp:
                    try:
                        self.context = self._load()
                        self._stamp = stamp
                        logging.getLogger("collector.operator.webhook").info("reloaded TLS certificate")
                    except (OSError, ssl.SSLError) as err:  # half-written files: keep the old one
                        logging.getLogger("collector.operator.webhook").warning("certificate reload failed: %s", err)
            sslobj.context = self.context


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], handler: type, app: "WebhookServer"):
        self.app = app
        self.slots = threading.BoundedSemaphore(MAX_CONCURRENT)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Bounded concurrency: past MAX_CONCURRENT the connection is closed and counted; the API
        # server then applies failurePolicy (Ignore) rather than queueing behind us.
        if not self.slots.acquire(timeout=1.0):
            self.app.metrics.rejected_connections.inc()
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Failed TLS handshakes, clients that hang up mid-request: the client's problem, not a
        # traceback on our stderr.
        self.app.metrics.connection_errors.inc()
        logging.getLogger("collector.operator.webhook").debug(
            "connection from %s failed", client_address, exc_info=True)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 30  # a client that stalls mid-request frees its slot
    # Headers and body go out in two writes; with Nagle on, the second waits for the client's
    # delayed ACK (~40 ms per review).
    disable_nagle_algorithm = True

    def log_message(self, fmt: str, *args: Any) -> None:
        logging.getLogger("collector.operator.http").debug(fmt, *args)

    def _send(self, code: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        app = self.server.app
        if self.path == "/healthz":
            self._send(200, b"ok", "text/plain")
        elif self.path == "/readyz":
            ready = app.ready()
            self._send(200 if ready else 503, b"ok" if ready else b"instrumentations not synced", "text/plain")
        elif self.path == "/metrics":
            self._send(200, generate_latest(app.metrics.registry), CONTENT_TYPE_LATEST)
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != MUTATE_PATH:
            self._send(404, b"not found", "text/plain")
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._send(411, b"Content-Length required", "text/plain")
            self.close_connection = True
            return
        if length < 0 or length > MAX_BODY:
            self._send(413, b"request too large", "text/plain")
            self.close_connection = True
            return
        body = self.rfile.read(length)
        self._send(200, json.dumps(self.server.app.handler.review(body)).encode())


class WebhookServer:
    def __init__(self, mutator: Mutator, host: str, port: int, certfile: str | None, keyfile: str | None,
                 metrics: Metrics | None = None, ready: Callable[[], bool] = lambda: True):
        self.metrics = metrics or Metrics()
        self.handler = AdmissionHandler(mutator, self.metrics)
        self.ready = ready
        self._httpd = _Server((host, port), _Handler, self)
        self.certs = None
        if certfile and keyfile:
            self.certs = CertReloader(certfile, keyfile)
            # The handshake runs in the request thread (first read), so a slow client cannot
            # stall the accept loop.
            self._httpd.socket = self.certs.context.wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self._httpd.server_address[:2]  # type: ignore[return-value]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="operator-webhook", daemon=True)
        self._thread.start()

    def shutdown(self, timeout: float = 5.0) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout)
