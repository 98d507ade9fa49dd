"""Sends OTLP requests as HTTP POSTs (protobuf or OTLP/JSON, optionally gzip) and classifies the
answer per the OTLP spec: 429/502/503/504 retry (Retry-After honoured), other errors do not.

Each consumer thread keeps its own keep-alive connection per host (http.client connections are
not thread-safe); a connection the server closed while idle is reopened once, transparently.
"""
from __future__ import annotations

import email.utils
import http.client
import json
import logging
import socket
import ssl
import threading
import time
import zlib
from urllib.parse import urlsplit

from collector.exporters.exporterhelper.otlp_responses import (parse_partial_success,
                                                               parse_partial_success_json)
from collector.exporters.exporterhelper.send_errors import (
    CONNECTION_REFUSED, DEADLINE_EXCEEDED, PartialSuccess, PermanentSendError, RetryableSendError)
from collector.exporters.exporterhelper.transport_security import (ignored_tls_settings, parse_http_url,
                                                                   ssl_context)

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
_GZIP_LEVEL = 6  # Go's gzip.DefaultCompression: a fair size/CPU trade-off


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def gzip_compress(data: bytes, level: int = _GZIP_LEVEL) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, 31)  # wbits 31: gzip framing
    return c.compress(data) + c.flush()


def zlib_compress(data: bytes, level: int = _GZIP_LEVEL) -> bytes:
    """confighttp's `zlib` and `deflate`: both write the zlib format (HTTP's "deflate")."""
    c = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


def _zlib_level(level: int) -> int:
    # Go's flate levels: 0 in config = default, -1 default, -2 Huffman-only (zlib: Z_HUFFMAN_ONLY
    # is a strategy, not a level; the fastest level is the closest).
    if level in (0, -1):
        return _GZIP_LEVEL
    return 1 if level == -2 else level


def _status_message(body: bytes, content_type: str) -> str:
    """The google.rpc.Status message OTLP servers put in error bodies, or a short excerpt."""
    if not body:
        return ""
    try:
        if "json" in content_type:
            doc = json.loads(body)
            if isinstance(doc, dict) and isinstance(doc.get("message"), str):
                return doc["message"]
        elif "protobuf" in content_type:
            from google.rpc import status_pb2
            return status_pb2.Status.FromString(body).message
    except Exception:
        pass
    return body[:200].decode("utf-8", "replace")


class _Target:
    __slots__ = ("url", "endpoint", "path")

    def __init__(self, url: str) -> None:
        self.url = url
        self.endpoint = parse_http_url(url)
        parts = urlsplit(url)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class HttpTransport:
    def __init__(self, config, logger: logging.Logger, user_agent: str = "skuber-collector") -> None:
        self._cfg = config
        self._log = logger
        self.targets = {sig: _Target(config.signal_url(sig)) for sig in ("logs", "metrics", "traces")}
        self.label = config.endpoint or next(iter(t.url for t in self.targets.values()))
        self._ssl = ssl_context(config.tls, alpn=["http/1.1"]) \
            if any(t.endpoint.secure for t in self.targets.values()) else None
        if self._ssl is not None:
            for what in ignored_tls_settings(config.tls, for_grpc=False):
                logger.warning("tls.%s is not applied", what)
        self._json = config.encoding == "json"
        compression = config.compression if config.compression in ("gzip", "zlib", "deflate") else ""
        params = getattr(config, "compression_params", None)
        level = _zlib_level(params.level if params is not None else 0)
        self._compress = None
        if compression == "gzip":
            self._compress = lambda data: gzip_compress(data, level)
        elif compression:
            self._compress = lambda data: zlib_compress(data, level)
        self._keep_alive = not getattr(config, "disable_keep_alives", False)
        proxy = urlsplit(config.proxy_url) if getattr(config, "proxy_url", "") else None
        self._proxy = (proxy.hostname, proxy.port or 80) if proxy is not None else None
        base = {"User-Agent": user_agent,
                "Content-Type": "application/json" if self._json else "application/x-protobuf"}
        if compression:
            base["Content-Encoding"] = compression
        if not self._keep_alive:
            base["Connection"] = "close"
        self._headers = {**{str(k): str(v) for k, v in config.headers.items()}, **base}
        self._local = threading.local()
        # Every open connection of every consumer thread, for close(); dropped ones leave it.
        self._all_conns: set[http.client.HTTPConnection] = set()
        self._conns_lock = threading.Lock()

    # -- connections -------------------------------------------------------------------------

    def _connection(self, target: _Target, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        """(connection, reused) for this thread and target host."""
        conns = getattr(self._local, "conns", None)
        if conns is None:
            conns = self._local.conns = {}
        ep = target.endpoint
        key = (ep.scheme, ep.host, ep.port)
        conn = conns.get(key)
        if conn is not None:
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            return conn, True
        conn = self._new_connection(ep, timeout)
        conns[key] = conn
        with self._conns_lock:
            self._all_conns.add(conn)
        return conn, False

    def _new_connection(self, ep, timeout: float) -> http.client.HTTPConnection:
        if self._proxy is not None:
            # proxy_url: https goes through a CONNECT tunnel (TLS end to end with the gateway);
            # plain http is sent to the proxy with the absolute URI as the request target.
            phost, pport = self._proxy
            if ep.secure:
                conn = _HTTPSConnection(phost, pport, timeout=timeout, context=self._ssl,
                                        server_name=self._cfg.tls.server_name_override or None)
                conn.set_tunnel(ep.host, ep.port)
                return conn
            return http.client.HTTPConnection(phost, pport, timeout=timeout)
        if ep.secure:
            return _HTTPSConnection(ep.host, ep.port, timeout=timeout, context=self._ssl,
                                    server_name=self._cfg.tls.server_name_override or None)
        return http.client.HTTPConnection(ep.host, ep.port, timeout=timeout)

    def _drop_connection(self, target: _Target) -> None:
        ep = target.endpoint
        conn = getattr(self._local, "conns", {}).pop((ep.scheme, ep.host, ep.port), None)
        if conn is not None:
            with self._conns_lock:
                self._all_conns.discard(conn)
            conn.close()

    # -- sending -----------------------------------------------------------------------------

    def encode(self, signal: str, body: bytes) -> bytes:
        if self._json:
            from collector.otlp.json_codec import to_json
            from collector.pdata import REQUEST_TYPES
            body = json.dumps(to_json(signal, REQUEST_TYPES[signal].FromString(body)),
                              separators=(",", ":")).encode()
        return self._compress(body) if self._compress is not None else body

    def send(self, signal: str, body: bytes, timeout: float) -> PartialSuccess | None:
        target = self.targets[signal]
        data = self.encode(signal, body)
        path = target.url if self._proxy is not None and not target.endpoint.secure else target.path
        for _ in range(2):
            conn, reused = self._connection(target, timeout)
            try:
                conn.request("POST", path, body=data, headers=self._headers)
                resp = conn.getresponse()
                payload = resp.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                self._drop_connection(target)
                if reused:
                    continue  # the server closed an idle keep-alive connection: reopen once
                raise RetryableSendError(f"Post {target.url!r}: {e}", problem="connection error") from None
            except Exception as e:
                self._drop_connection(target)
                raise self._network_error(target, e) from None
        else:  # pragma: no cover - the loop always breaks or raises
            raise RetryableSendError(f"Post {target.url!r}: connection closed", problem="connection error")
        if resp.will_close or not self._keep_alive:
            self._drop_connection(target)
        return self._classify(signal, target, resp, payload)

    def _network_error(self, target: _Target, e: Exception) -> RetryableSendError:
        where = f"Post {target.url!r}"
        if isinstance(e, ConnectionRefusedError):
            ep = target.endpoint
            return RetryableSendError(f"{where}: dial tcp {ep.address}: connect: connection refused",
                                      problem=CONNECTION_REFUSED)
        if isinstance(e, (socket.timeout, TimeoutError)):
            return RetryableSendError(f"{where}: {DEADLINE_EXCEEDED} (Client.Timeout exceeded)",
                                      problem=DEADLINE_EXCEEDED)
        if isinstance(e, ssl.SSLCertVerificationError):
            return RetryableSendError(f"{where}: tls: failed to verify certificate: {_verify_reason(e)}",
                                      problem="tls: " + _verify_reason(e))
        if isinstance(e, ssl.SSLError):
            reason = getattr(e, "reason", "") or str(e)
            if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"):
                return RetryableSendError(f"{where}: tls: first record does not look like a TLS handshake "
                                          "(the gateway serves plain text: use http://)",
                                          problem="tls: server is not speaking TLS")
            return RetryableSendError(f"{where}: tls: {reason}", problem="tls: handshake failed")
        return RetryableSendError(f"{where}: {e.__class__.__name__}: {e}", problem="connection error")

    def _classify(self, signal: str, target: _Target, resp, payload: bytes) -> PartialSuccess | None:
        ctype = resp.getheader("Content-Type", "") or ""
        if 200 <= resp.status < 300:
            if "json" in ctype:
                try:
                    return parse_partial_success_json(signal, json.loads(payload)) if payload else None
                except ValueError:
                    return None
            return parse_partial_success(signal, payload)
        message = (f"error exporting items, request to {target.url} responded with HTTP Status Code "
                   f"{resp.status}, Message={_status_message(payload, ctype)}")
        if resp.status in RETRYABLE_STATUS:
            throttle = parse_retry_after(resp.getheader("Retry-After"))
            raise RetryableSendError(message, throttle=throttle)
        raise PermanentSendError(message)

    def probe(self, timeout: float) -> None:
        """Opens (and closes) a connection to each distinct host: TCP and, for https, TLS."""
        seen = set()
        for target in self.targets.values():
            ep = target.endpoint
            if (ep.scheme, ep.host, ep.port) in seen:
                continue
            seen.add((ep.scheme, ep.host, ep.port))
            conn = self._new_connection(ep, timeout)
            try:
                conn.connect()
            except Exception as e:
                raise self._network_error(target, e) from None
            finally:
                conn.close()

    def close(self) -> None:
        with self._conns_lock:
            conns, self._all_conns = self._all_conns, set()
        for c in conns:
            try:
                c.close()
            except Exception:
                pass


def _verify_reason(e: ssl.SSLCertVerificationError) -> str:
    code = getattr(e, "verify_code", None)
    if code in (18, 19, 20, 21):  # self-signed / unable to get issuer: not signed by a trusted CA
        return "x509: certificate signed by unknown authority"
    if code in (62, 64):  # hostname / IP address mismatch
        return ("x509: certificate is not valid for the endpoint's name (name mismatch: use a name "
                "the certificate has, or tls.server_name_override)")
    if code == 10:
        return "x509: certificate has expired or is not yet valid"
    return f"x509: {getattr(e, 'verify_message', '') or e}"


class _HTTPSConnection(http.client.HTTPSConnection):
    """HTTPS with `tls.server_name_override` used for SNI and the name check."""

    def __init__(self, host, port, *, timeout, context, server_name=None) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._server_name = server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)  # also opens the CONNECT tunnel of a proxy
        name = self._server_name or self._tunnel_host or self.host
        self.sock = self._context.wrap_socket(self.sock, server_hostname=name)
