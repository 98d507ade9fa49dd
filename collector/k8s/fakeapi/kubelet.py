"""A fake kubelet: HTTPS (self-signed) serving /stats/summary and /pods like a real one, with
bearer-token or client-certificate auth, plus a factory for realistic summaries.

    kubelet = FakeKubelet(token="sa-token").start()
    kubelet.summary = stats_summary("node-1", pods)   # pods: objects.pod(...) dicts
    kubelet.url, kubelet.ca_file; kubelet.stop()
"""

from __future__ import annotations

import datetime
import json
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from collector.k8s.fakeapi.certs import make_self_signed


def _ts(seconds_ago: float = 0) -> str:
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _cpu(nano_cores: int, core_seconds: float) -> dict:
    return {"time": _ts(), "usageNanoCores": nano_cores, "usageCoreNanoSeconds": int(core_seconds * 1e9)}


def _memory(usage: int) -> dict:
    return {"time": _ts(), "availableBytes": 4 * usage, "usageBytes": usage, "workingSetBytes": usage * 9 // 10,
            "rssBytes": usage * 7 // 10, "pageFaults": usage // 4096, "majorPageFaults": 3}


def _fs(used: int, capacity: int = 85_886_742_528) -> dict:
    return {"time": _ts(), "availableBytes": capacity - used, "capacityBytes": capacity, "usedBytes": used,
            "inodesFree": 5_000_000, "inodes": 5_242_880, "inodesUsed": 242_880}


def _network(rx: int, tx: int) -> dict:
    eth0 = {"name": "eth0", "rxBytes": rx, "rxErrors": 0, "txBytes": tx, "txErrors": 1}
    return {"time": _ts(), **eth0, "interfaces": [eth0, {"name": "tunl0", "rxBytes": 10, "rxErrors": 0,
                                                          "txBytes": 20, "txErrors": 0}]}


def stats_summary(node_name: str, pods: list[dict]) -> dict:
    """A /stats/summary for a node running `pods` (pod dicts from objects.pod), with plausible,
    distinct numbers per pod and container so tests can tell them apart."""
    out_pods = []
    for i, pod in enumerate(pods, start=1):
        meta = pod["metadata"]
        containers = []
        for j, c in enumerate(pod["spec"]["containers"], start=1):
            containers.append({"name": c["name"], "startTime": _ts(3600),
                               "cpu": _cpu(1_000_000 * i * j, 12.5 * i * j), "memory": _memory(50_000_000 * i * j),
                               "rootfs": _fs(4096 * i * j), "logs": _fs(8192 * i * j)})
        volumes = [{"name": "kube-api-access", **_fs(12_288, 2_000_000)}]
        for v in pod["spec"].get("volumes") or []:
            entry = {"name": v["name"], **_fs(1_000_000 * i, 10_737_418_240)}
            if "persistentVolumeClaim" in v:
                entry["pvcRef"] = {"name": v["persistentVolumeClaim"]["claimName"], "namespace": meta["namespace"]}
            volumes.append(entry)
        out_pods.append({
            "podRef": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"]},
            "startTime": _ts(3600), "containers": containers,
            "cpu": _cpu(1_000_000 * i * 3, 40.0 * i), "memory": _memory(60_000_000 * i),
            "network": _network(1_000_000 * i, 2_000_000 * i), "volume": volumes,
            "ephemeral-storage": _fs(16_384 * i),
            "process_stats": {"process_count": len(containers)},
        })
    return {"node": {"nodeName": node_name, "startTime": _ts(86_400),
                     "systemContainers": [{"name": "kubelet", "startTime": _ts(86_400),
                                           "cpu": _cpu(20_000_000, 3000.0), "memory": _memory(80_000_000)}],
                     "cpu": _cpu(350_000_000, 123_456.5), "memory": _memory(3_000_000_000),
                     "network": _network(9_000_000_000, 4_000_000_000), "fs": _fs(20_000_000_000),
                     "runtime": {"imageFs": _fs(10_000_000_000)},
                     "rlimit": {"time": _ts(), "maxpid": 4_194_304, "curproc": 812}},
            "pods": out_pods}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_GET(self):  # noqa: N802
        kubelet = self.server.kubelet
        kubelet.requests.append(self.path)
        if kubelet.token is not None and self.headers.get("Authorization") != f"Bearer {kubelet.token}":
            return self._send(401, b"Unauthorized", "text/plain")
        if self.path.startswith("/stats/summary"):
            body = kubelet.raw_summary if kubelet.raw_summary is not None else json.dumps(kubelet.summary).encode()
            return self._send(200, body)
        if self.path.startswith("/pods"):
            return self._send(200, json.dumps({"kind": "PodList", "apiVersion": "v1", "items": kubelet.pods}).encode())
        return self._send(404, b"404 page not found", "text/plain")

    def _send(self, code: int, body: bytes, ctype: str = "application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    kubelet: "FakeKubelet"

    def handle_error(self, request, client_address):
        pass  # handshakes refused by clients that do not trust us are part of the tests


class FakeKubelet:
    """token: required bearer token (None: no token check). client_ca: require a client
    certificate signed by this CA file (auth_type tls)."""

    def __init__(self, token: str | None = "fake-token", client_ca: str | None = None, tls: bool = True):
        self.token = token
        self.summary: dict = {"node": {"nodeName": "node-1"}, "pods": []}
        self.raw_summary: bytes | None = None   # set to serve a broken body
        self.pods: list[dict] = []
        self.requests: list[str] = []
        self._dir = tempfile.mkdtemp(prefix="fakekubelet-")
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.kubelet = self
        self.ca_file = None
        if tls:
            cert, key = make_self_signed(self._dir, "fake-kubelet")
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            if client_ca:
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(client_ca)
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
            self.ca_file = cert
        self.tls = tls
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return "%s:%d" % self._httpd.server_address[:2]

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.endpoint}"

    def start(self) -> "FakeKubelet":
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="fake-kubelet", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
