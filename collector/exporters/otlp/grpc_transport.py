"""Sends serialized OTLP requests over a grpcio channel and classifies the answer per the OTLP
spec. The request is sent as bytes through a generic unary call: no protobuf re-encoding."""
from __future__ import annotations

import logging
import threading

from collector.exporters.exporterhelper.send_errors import (
    CONNECTION_REFUSED, DEADLINE_EXCEEDED, PartialSuccess, PermanentSendError, RetryableSendError,
    SendError)
from collector.exporters.exporterhelper.otlp_responses import parse_partial_success
from collector.exporters.exporterhelper.transport_security import (grpc_security, ignored_tls_settings,
                                                                   parse_grpc_endpoint)
from collector.otlp.services import SERVICES

# OTLP spec: these codes are transient. RESOURCE_EXHAUSTED only when the server sent RetryInfo.
RETRYABLE_CODES = frozenset({"UNAVAILABLE", "CANCELLED", "DEADLINE_EXCEEDED", "ABORTED",
                             "OUT_OF_RANGE", "DATA_LOSS"})
_RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"
_STATUS_DETAILS_KEY = "grpc-status-details-bin"


def _go_code_name(name: str) -> str:
    """UNAVAILABLE -> Unavailable, DEADLINE_EXCEEDED -> DeadlineExceeded (as otelcol prints)."""
    return "".join(part.capitalize() for part in name.split("_"))


def retry_info_delay(trailing_metadata) -> float | None:
    """The delay of a google.rpc.RetryInfo detail in the status trailer, if there is one."""
    for key, value in trailing_metadata or ():
        if key != _STATUS_DETAILS_KEY:
            continue
        from google.rpc import error_details_pb2, status_pb2
        try:
            status = status_pb2.Status.FromString(value)
        except Exception:  # a malformed trailer is the server's bug; treat as absent
            return None
        for detail in status.details:
            if detail.type_url == _RETRY_INFO_TYPE:
                info = error_details_pb2.RetryInfo()
                if detail.Unpack(info):
                    return info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    return None


def describe_transport_problem(details: str) -> tuple[str | None, str]:
    """(problem phrase, plain explanation) for the connection failures people meet."""
    low = details.lower()
    if "connection refused" in low:
        return CONNECTION_REFUSED, "dial tcp: connect: connection refused"
    if "certificate_verify_failed" in low or "certificate verify failed" in low:
        return ("tls: certificate signed by unknown authority",
                "tls: failed to verify certificate: x509: certificate signed by unknown authority "
                "(set tls.ca_file to the gateway's CA, or tls.insecure_skip_verify for a self-signed gateway)")
    if "hostname verification" in low:
        return ("tls: certificate name mismatch",
                "tls: failed to verify certificate: x509: certificate is not valid for the endpoint's "
                "name (name mismatch: use a name the certificate has, or tls.server_name_override)")
    if "wrong_version_number" in low or "first record does not look like" in low:
        return ("tls: server is not speaking TLS",
                "tls: first record does not look like a TLS handshake (the gateway serves plain "
                "text: set tls.insecure: true or use http://)")
    if "handshake" in low or "ssl" in low:
        return "tls: handshake failed", "tls: handshake failed"
    if "timeout" in low or "timed out" in low:
        return DEADLINE_EXCEEDED, DEADLINE_EXCEEDED
    if "failed to connect" in low or "connection reset" in low or "name resolution" in low \
            or "dns resolution" in low:
        return "connection error", "connection error"
    return None, ""


def classify_rpc_error(code_name: str, details: str, trailing_metadata) -> SendError:
    details = details or ""
    throttle = retry_info_delay(trailing_metadata)
    problem, plain = describe_transport_problem(details)
    if code_name == "DEADLINE_EXCEEDED":
        problem, plain = DEADLINE_EXCEEDED, DEADLINE_EXCEEDED
    message = f"rpc error: code = {_go_code_name(code_name)} desc = {plain or details}"
    if plain and plain != details and code_name != "DEADLINE_EXCEEDED":
        message += f" ({details})"
    if code_name in RETRYABLE_CODES:
        return RetryableSendError(message, throttle=throttle, problem=problem)
    if code_name == "RESOURCE_EXHAUSTED" and throttle is not None:
        return RetryableSendError(message, throttle=throttle)
    return PermanentSendError(message, problem=problem)


def _keepalive_options(keepalive) -> list[tuple[str, object]]:
    if not keepalive:
        return []
    from collector.config import parse_duration
    opts: list[tuple[str, object]] = []
    if "time" in keepalive:
        opts.append(("grpc.keepalive_time_ms", int(parse_duration(keepalive["time"]) * 1000)))
    if "timeout" in keepalive:
        opts.append(("grpc.keepalive_timeout_ms", int(parse_duration(keepalive["timeout"]) * 1000)))
    if "permit_without_stream" in keepalive:
        opts.append(("grpc.keepalive_permit_without_calls", 1 if keepalive["permit_without_stream"] else 0))
    return opts


class GrpcTransport:
    """One channel per exporter, shared by its consumer threads (grpcio channels are thread-safe)."""

    def __init__(self, config, logger: logging.Logger, user_agent: str = "skuber-collector") -> None:
        import grpc

        self._grpc = grpc
        self._cfg = config
        self._log = logger
        self.endpoint = parse_grpc_endpoint(config.endpoint, config.tls)
        self.label = config.endpoint
        self._metadata = tuple((str(k).lower(), str(v)) for k, v in config.headers.items()) or None
        self._compression = grpc.Compression.Gzip if config.compression == "gzip" else grpc.Compression.NoCompression
        self._options = [("grpc.primary_user_agent", user_agent),
                         ("grpc.max_send_message_length", -1),
                         *_keepalive_options(config.keepalive)]
        if config.balancer_name:
            self._options.append(("grpc.lb_policy_name", config.balancer_name))
        if config.authority:
            self._options.append(("grpc.default_authority", config.authority))
        if self.endpoint.secure:
            for what in ignored_tls_settings(config.tls, for_grpc=True):
                logger.warning("tls.%s is not applied", what)
        self._lock = threading.Lock()
        self._channel = None
        self._calls: dict[str, object] = {}
        self._pinned = ""
        self._closed = False

    def _ensure_channel(self, timeout: float):
        with self._lock:
            if self._channel is not None:
                return self._calls
            if self._closed:
                raise RetryableSendError("the exporter is shut down", problem="closed")
            grpc = self._grpc
            try:
                sec = grpc_security(self.endpoint, self._cfg.tls, connect_timeout=min(timeout, 10.0))
            except OSError as e:
                # skip-verify has to reach the gateway to read its certificate first.
                problem, plain = (CONNECTION_REFUSED, "dial tcp: connect: connection refused") \
                    if isinstance(e, ConnectionRefusedError) else \
                    ((DEADLINE_EXCEEDED, DEADLINE_EXCEEDED) if isinstance(e, TimeoutError)
                     else ("connection error", str(e)))
                raise RetryableSendError(f"rpc error: code = Unavailable desc = {plain}", problem=problem) from None
            target = self.endpoint.address
            options = self._options + sec.options
            if sec.credentials is None:
                channel = grpc.insecure_channel(target, options=options)
            else:
                channel = grpc.secure_channel(target, sec.credentials, options=options)
            if sec.pinned_fingerprint and sec.pinned_fingerprint != self._pinned:
                self._pinned = sec.pinned_fingerprint
                self._log.warning(
                    "tls.insecure_skip_verify is set: trusting the certificate %s presents without "
                    "verification (sha256 %s), pinned as the only trusted root, name checked as %r",
                    self.endpoint.address, sec.pinned_fingerprint, sec.pinned_name)
            self._channel = channel
            self._calls = {sig: channel.unary_unary(service.grpc_method, request_serializer=None,
                                                    response_deserializer=None)
                           for sig, service in SERVICES.items()}
            return self._calls

    def _reset_channel(self) -> None:
        with self._lock:
            channel, self._channel, self._calls = self._channel, None, {}
        if channel is not None:
            channel.close()

    def send(self, signal: str, body: bytes, timeout: float) -> PartialSuccess | None:
        calls = self._ensure_channel(timeout)
        try:
            response = calls[signal](body, timeout=timeout, metadata=self._metadata,
                                     compression=self._compression,
                                     wait_for_ready=self._cfg.wait_for_ready or None)
        except self._grpc.RpcError as e:
            err = classify_rpc_error(e.code().name, e.details() or "", e.trailing_metadata())
            if self._pinned and err.problem and err.problem.startswith("tls"):
                # The gateway may have rotated its certificate: fetch and pin it again next time.
                self._reset_channel()
            raise err from None
        return parse_partial_success(signal, response)

    def probe(self, timeout: float) -> None:
        """Waits until the channel is READY (TCP, TLS and HTTP/2 set up), or explains why not."""
        import socket

        self._ensure_channel(timeout)
        with self._lock:
            channel = self._channel
        if channel is None:
            raise RetryableSendError("channel closed", problem="closed")
        # Watch the connectivity state: READY is success, TRANSIENT_FAILURE is diagnosed at
        # once (waiting out the whole timeout would delay the warning users look for).
        grpc = self._grpc
        settled = threading.Event()
        state = []

        def on_state(connectivity) -> None:
            if connectivity in (grpc.ChannelConnectivity.READY, grpc.ChannelConnectivity.TRANSIENT_FAILURE,
                                grpc.ChannelConnectivity.SHUTDOWN):
                state.append(connectivity)
                settled.set()

        channel.subscribe(on_state, try_to_connect=True)
        try:
            settled.wait(timeout)
        finally:
            channel.unsubscribe(on_state)
        if state and state[-1] is grpc.ChannelConnectivity.READY:
            return
        if state and state[-1] is grpc.ChannelConnectivity.SHUTDOWN:
            raise RetryableSendError("channel closed", problem="closed")
        # Not ready: find out why in the terms people search for.
        ep = self.endpoint
        try:
            with socket.create_connection((ep.host, ep.port), timeout=timeout):
                pass
        except ConnectionRefusedError:
            raise RetryableSendError(f"dial tcp {ep.address}: connect: connection refused",
                                     problem=CONNECTION_REFUSED) from None
        except (TimeoutError, OSError) as e:
            if isinstance(e, TimeoutError):
                raise RetryableSendError(f"dial tcp {ep.address}: {DEADLINE_EXCEEDED}",
                                         problem=DEADLINE_EXCEEDED) from None
            raise RetryableSendError(f"dial tcp {ep.address}: {e}", problem="connection error") from None
        reason = "the channel did not become ready (the gateway may not speak OTLP/gRPC on this port)"
        if ep.secure and not self._cfg.tls.insecure_skip_verify:
            reason = _tls_reason(ep, self._cfg.tls, timeout) or reason
        raise RetryableSendError(f"{ep.address}: {reason}", problem="channel not ready")

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._reset_channel()


def _tls_reason(ep, tls, timeout: float) -> str | None:
    """Repeats the TLS handshake with the ssl module to name what made gRPC's fail."""
    import socket
    import ssl

    from collector.exporters.exporterhelper.transport_security import explain_tls_error, ssl_context

    name = tls.server_name_override or ep.host
    try:
        ctx = ssl_context(tls, alpn=["h2"])
        with socket.create_connection((ep.host, ep.port), timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=name):
                return None
    except (OSError, ssl.SSLError, ValueError) as e:
        return "tls: " + explain_tls_error(e, name)

