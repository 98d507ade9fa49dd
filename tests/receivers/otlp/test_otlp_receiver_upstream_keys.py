"""otlp receiver keys of configgrpc / confighttp servers that otelcol accepts (otlpreceiver
testdata: uds, buffers, include_metadata, auth, response headers, compression algorithms,
timeouts), and what they do when served."""
from __future__ import annotations

import http.client
import logging
import os
import socket
import zlib

import pytest

from collector.config import ConfigErrors, decode
from collector.receivers.otlp.config import AuthConfig, Config, HTTPKeepalive
from collector.pdata import REQUEST_TYPES

from .receiver_harness import RunningReceiver


def test_upstream_keys_decode():
    cfg = decode(Config, {"protocols": {
        "grpc": {"endpoint": "localhost:4317", "transport": "tcp", "read_buffer_size": 1024,
                 "write_buffer_size": 1024, "include_metadata": True, "auth": {"authenticator": "basicauth"}},
        "http": {"endpoint": "localhost:4318", "include_metadata": True, "response_headers": {"X-Test": "1"},
                 "compression_algorithms": ["", "gzip", "zstd"], "read_timeout": "5s",
                 "read_header_timeout": "2s", "write_timeout": "10s", "idle_timeout": "30s",
                 "keep_alives_enabled": False, "cors": {"allowed_origins": ["*"], "exposed_headers": ["X-Test"]},
                 "auth": {"authenticator": "basicauth", "request_params": ["token"]}},
    }}, "receivers.otlp")
    g, h = cfg.protocols.grpc, cfg.protocols.http
    assert (g.read_buffer_size, g.write_buffer_size, g.include_metadata) == (1024, 1024, True)
    assert g.auth == AuthConfig("basicauth") and h.auth.request_params == ["token"]
    assert h.decoded_encodings() == ("", "gzip") and h.socket_timeout() == 30.0 and not h.keep_alive()
    assert decode(Config, {"protocols": {"http": {"keepalive": {"idle_timeout": "5s"}}}}).protocols.http.keepalive \
        == HTTPKeepalive(enabled=True, idle_timeout=5.0)


def test_defaults_of_the_new_keys_as_otelcol():
    cfg = decode(Config, {"protocols": {"grpc": None, "http": None}})
    g, h = cfg.protocols.grpc, cfg.protocols.http
    assert (g.transport, g.read_buffer_size, g.write_buffer_size, g.include_metadata, g.auth) == ("tcp", 512 * 1024, 0, False, None)
    assert (h.transport, h.read_timeout, h.read_header_timeout, h.write_timeout, h.idle_timeout) == ("tcp", 0.0, 60.0, 30.0, 60.0)
    assert h.decoded_encodings() == ("", "gzip", "zlib", "deflate") and h.keep_alive()


@pytest.mark.parametrize("proto,raw,key", [
    ("grpc", {"transport": "udp"}, "receivers.otlp.protocols.grpc.transport"),
    ("grpc", {"transport": "unix", "endpoint": ""}, "receivers.otlp.protocols.grpc.endpoint"),
    ("http", {"compression_algorithms": ["brotli"]}, "receivers.otlp.protocols.http.compression_algorithms[0]"),
    ("http", {"write_timeout": "-1s"}, "receivers.otlp.protocols.http.write_timeout"),
    ("grpc", {"auth": {}}, "receivers.otlp.protocols.grpc.auth.authenticator"),
])
def test_invalid_values_name_the_key(proto, raw, key):
    with pytest.raises(ConfigErrors) as e:
        decode(Config, {"protocols": {proto: raw}}, "receivers.otlp")
    assert any(err.path == key for err in e.value.errors), str(e.value)


def _logs_body() -> bytes:
    req = REQUEST_TYPES["logs"]()
    req.resource_logs.add().scope_logs.add().log_records.add().body.string_value = "hi"
    return req.SerializeToString()


def test_unix_sockets_are_served(tmp_path):
    import grpc

    gsock, hsock = str(tmp_path / "grpc.sock"), str(tmp_path / "http.sock")
    rx = RunningReceiver({"grpc": {"transport": "unix", "endpoint": gsock},
                          "http": {"transport": "unix", "endpoint": hsock}}).start()
    try:
        assert rx.receiver.endpoints == {"grpc": gsock, "http": hsock}
        with grpc.insecure_channel("unix:" + gsock) as ch:
            call = ch.unary_unary("/opentelemetry.proto.collector.logs.v1.LogsService/Export",
                                  request_serializer=None, response_deserializer=None)
            call(_logs_body(), timeout=5)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(hsock)
        conn = http.client.HTTPConnection("localhost")
        conn.sock = s
        conn.request("POST", "/v1/logs", body=_logs_body(), headers={"Content-Type": "application/x-protobuf"})
        assert conn.getresponse().status == 200
        conn.close()
        assert len(rx.consumers["logs"].payloads) == 2
        assert rx.consumers["logs"].payloads[1].client_addr is None
    finally:
        rx.stop()


def _post(rx, body: bytes, **headers):
    host, port = rx.receiver.endpoints["http"].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("POST", "/v1/logs", body=body, headers={"Content-Type": "application/x-protobuf", **headers})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp


def test_response_headers_compression_algorithms_and_keep_alive_off():
    rx = RunningReceiver({"http": {"response_headers": {"X-Served-By": "agent"},
                                   "compression_algorithms": ["", "zlib"], "keep_alives_enabled": False}}).start()
    try:
        ok = _post(rx, zlib.compress(_logs_body()), **{"Content-Encoding": "zlib"})
        assert ok.status == 200 and ok.getheader("X-Served-By") == "agent" and ok.getheader("Connection") == "close"
        assert _post(rx, _logs_body()).status == 200
        import gzip
        refused = _post(rx, gzip.compress(_logs_body()), **{"Content-Encoding": "gzip"})  # not in the list
        assert refused.status == 400
    finally:
        rx.stop()


def test_zlib_is_decoded_by_default():
    rx = RunningReceiver({"http": {}}).start()
    try:
        assert _post(rx, zlib.compress(_logs_body()), **{"Content-Encoding": "zlib"}).status == 200
    finally:
        rx.stop()


def test_an_authenticator_fails_the_start():
    rx = RunningReceiver({"http": {"auth": {"authenticator": "basicauth"}}})

    class Host:
        def get_extension(self, cid):
            raise KeyError(f"extension {cid!r} is not enabled in service.extensions")

    with pytest.raises(KeyError, match="basicauth"):
        rx.receiver.start(Host())
    assert rx.receiver.endpoints == {}


def test_include_metadata_is_accepted_with_a_warning(caplog):
    rx = RunningReceiver({"grpc": {"include_metadata": True}})
    with caplog.at_level(logging.WARNING):
        rx.start()
    try:
        assert "include_metadata" in caplog.text
    finally:
        rx.stop()
