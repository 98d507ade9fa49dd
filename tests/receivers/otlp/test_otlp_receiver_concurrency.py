"""Many clients at once: every item counted exactly once, threads bounded, nothing left behind."""
from __future__ import annotations

import http.client
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from tests.otlp.otlp_client import grpc_export
from tests.receivers.otlp.receiver_harness import RunningReceiver


SOAK_SECONDS = int(os.environ.get("SOAK_SECONDS", "60"))


def logs(n: int) -> bytes:
    req = ExportLogsServiceRequest()
    sl = req.resource_logs.add().scope_logs.add()
    for i in range(n):
        sl.log_records.add().body.string_value = f"r{i}"
    return req.SerializeToString()


def _http_client(endpoint: str, body: bytes, requests: int, deadline: float) -> int:
    host, port = endpoint.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)  # one keep-alive connection
    ok = 0
    try:
        for _ in range(requests):
            if time.monotonic() > deadline:
                break
            conn.request("POST", "/v1/logs", body, {"Content-Type": "application/x-protobuf"})
            resp = conn.getresponse()
            resp.read()
            ok += resp.status == 200
    finally:
        conn.close()
    return ok


def _grpc_client(endpoint: str, body: bytes, requests: int, deadline: float) -> int:
    ok = 0
    for _ in range(requests):
        if time.monotonic() > deadline:
            break
        ok += grpc_export(endpoint, "logs", body).code == grpc.StatusCode.OK
    return ok


def _hammer(rx: RunningReceiver, clients: int, requests: int, seconds: float) -> int:
    body = logs(10)
    deadline = time.monotonic() + seconds
    with ThreadPoolExecutor(clients * 2) as pool:
        futures = [pool.submit(_http_client, rx.http, body, requests, deadline) for _ in range(clients)]
        futures += [pool.submit(_grpc_client, rx.grpc, body, requests, deadline) for _ in range(clients)]
        return sum(f.result(timeout=seconds + 30) for f in futures)


def test_concurrent_clients_on_both_transports_are_each_counted_once():
    rx = RunningReceiver({"grpc": {}, "http": {}}).start()
    try:
        ok = _hammer(rx, clients=4, requests=40, seconds=30)
        assert ok == 4 * 40 * 2
        assert len(rx.consumers["logs"].payloads) == ok
        accepted = sum(rx.metric("otelcol_receiver_accepted_log_records_total", transport=t) for t in ("grpc", "http"))
        assert accepted == ok * 10
    finally:
        rx.stop()


@pytest.mark.slow
def test_soak_a_minute_of_clients_leaves_no_threads_behind():
    before = threading.active_count()
    rx = RunningReceiver({"grpc": {}, "http": {}}).start()
    try:
        ok = _hammer(rx, clients=8, requests=10 ** 6, seconds=SOAK_SECONDS)
        print(f"\nsoak: {ok} requests accepted in {SOAK_SECONDS} s")
        assert len(rx.consumers["logs"].payloads) == ok
    finally:
        rx.stop()
    deadline = time.monotonic() + 10
    while threading.active_count() > before + 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert threading.active_count() <= before + 2, [t.name for t in threading.enumerate()]
