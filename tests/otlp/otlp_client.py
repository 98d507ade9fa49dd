"""Minimal OTLP clients for tests: one export over gRPC or HTTP, with the raw answer kept."""
from __future__ import annotations

import gzip as gzip_mod
import http.client
import json
import os
import ssl
from dataclasses import dataclass

import grpc

from collector.otlp.services import SERVICES

# The upstream OTLP/JSON examples (shared/testdata/otlp-json), copied beside this file so a clone
# runs its tests wherever it is checked out.
TESTDATA = os.path.join(os.path.dirname(__file__), "testdata")
TESTDATA_FILES = {"traces": "trace.json", "logs": "logs.json", "metrics": "metrics.json"}


def load_testdata(signal: str) -> bytes:
    with open(f"{TESTDATA}/{TESTDATA_FILES[signal]}", "rb") as f:
        return f.read()


@dataclass
class GRPCAnswer:
    code: grpc.StatusCode
    details: str
    response: object | None
    trailing: tuple


def grpc_export(endpoint: str, signal: str, body: bytes, *, credentials=None, compression=None,
                timeout: float = 5.0, server_name: str | None = None) -> GRPCAnswer:
    """Send raw request bytes to Export; never raises for an RPC error."""
    service = SERVICES[signal]
    options = [("grpc.ssl_target_name_override", server_name)] if server_name else []
    channel = (grpc.secure_channel(endpoint, credentials, options=options) if credentials
               else grpc.insecure_channel(endpoint))
    try:
        call = channel.unary_unary(f"/{service.grpc_service}/Export",
                                   request_serializer=lambda b: b,
                                   response_deserializer=service.response_type.FromString)
        try:
            response, c = call.with_call(body, timeout=timeout, compression=compression)
            return GRPCAnswer(c.code(), c.details() or "", response, tuple(c.trailing_metadata() or ()))
        except grpc.RpcError as e:
            return GRPCAnswer(e.code(), e.details() or "", None, tuple(e.trailing_metadata() or ()))
    finally:
        channel.close()


@dataclass
class HTTPAnswer:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


def http_export(base_url: str, path: str, body: bytes, content_type: str = "application/x-protobuf",
                *, gzip: bool = False, headers: dict | None = None, method: str = "POST",
                context: ssl.SSLContext | None = None, timeout: float = 5.0) -> HTTPAnswer:
    """One request on a fresh connection (so a test never depends on keep-alive state)."""
    scheme, _, hostport = base_url.partition("://")
    host, _, port = hostport.rpartition(":")
    if scheme == "https":
        conn = http.client.HTTPSConnection(host, int(port), timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    hdrs = {"Content-Type": content_type}
    if gzip:
        body = gzip_mod.compress(body)
        hdrs["Content-Encoding"] = "gzip"
    hdrs.update(headers or {})
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return HTTPAnswer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def retry_info_seconds(trailing: tuple) -> float | None:
    """RetryInfo delay from grpc-status-details-bin, the way OTLP clients read it."""
    from google.rpc import error_details_pb2, status_pb2

    for key, value in trailing:
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.RetryInfo()
                if detail.Unpack(info):
                    return info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    return None
