"""The `otlp` receiver: OTLP/gRPC and OTLP/HTTP servers (collector.otlp) feeding the pipelines.

Each request is parsed once (FromString, or the JSON codec) and its message handed to the
pipeline as is, with the sender's IP as Payload.client_addr (k8sattributes associates pods by
connection IP). The answer follows the collector's mapping (otlpreceiver/internal/errors):

    consumer outcome                 gRPC                 HTTP
    accepted                         OK                   200
    Refused (memory, full queue)     UNAVAILABLE          503   retryable
    PermanentError                   INVALID_ARGUMENT     400   not retryable
    any other exception              UNAVAILABLE          503   (logged: a bug downstream)
    an error with grpc_code="RESOURCE_EXHAUSTED" (and retry_after) -> RESOURCE_EXHAUSTED / 429

Requests the servers answer themselves (bad encoding 400, other content type 415, too large
413 / RESOURCE_EXHAUSTED, unknown path 404) never reach a pipeline; they are counted in
skuber_receiver_bad_requests{transport,reason}.
"""
from __future__ import annotations

import time

from collector.component import Component, Payload, PermanentError
from collector.otlp.status import GRPC_CODES, ExportFailure, http_status_for
from collector.pdata import count_items

from .config import Config


class OTLPReceiver(Component):
    def __init__(self, settings, config: Config, consumers: dict) -> None:
        self._settings = settings
        self._config = config
        self._consumers = dict(consumers)
        self._log = settings.logger
        self._telemetry = settings.telemetry
        self._servers: list = []

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self, host) -> None:
        from collector.otlp.server import BadRequestCounter

        bad_metric = self._telemetry.counter(
            "skuber_receiver_bad_requests", "OTLP requests answered with an error before reaching a pipeline.",
            ("transport", "reason"))
        bad = BadRequestCounter(lambda transport, reason: bad_metric.labels(transport=transport, reason=reason).inc())
        signals = tuple(s for s in ("logs", "metrics", "traces") if s in self._consumers)
        for name, proto in (("grpc", self._config.protocols.grpc), ("http", self._config.protocols.http)):
            if proto is None:
                continue
            if proto.auth is not None:
                # configauth: the authenticator is resolved at start; serving without it would
                # accept data the config says must be authenticated.
                ext = host.get_extension(proto.auth.authenticator) if hasattr(host, "get_extension") else None
                if ext is None or not callable(getattr(ext, "authenticate", None)):
                    raise ValueError(f"protocols.{name}.auth.authenticator: {proto.auth.authenticator} is not an "
                                     "authenticator extension (this collector has no authenticator extensions)")
            if proto.include_metadata:
                self._log.warning("protocols.%s.include_metadata: client metadata is not passed down the "
                                  "pipeline by this collector (no processor or exporter here uses it)", name)
        try:
            if self._config.protocols.grpc is not None:
                self._servers.append(self._grpc_server(signals, bad))
                self._servers[-1].start()
            if self._config.protocols.http is not None:
                self._servers.append(self._http_server(signals, bad))
                self._servers[-1].start()
        except Exception:
            self.shutdown(time.monotonic() + 1)
            raise
        for server in self._servers:
            self._log.info("Starting %s server", server.transport.upper(), extra={"endpoint": server.endpoint})

    def _grpc_server(self, signals, bad):
        from collector.otlp.grpc_server import GRPCServer, GRPCSettings
        from collector.otlp.listen import ServerTLS

        cfg = self._config.protocols.grpc
        settings = GRPCSettings(endpoint=cfg.endpoint, max_recv_msg_size=(cfg.max_recv_msg_size_mib or 4) * 1024 * 1024,
                                max_concurrent_streams=cfg.max_concurrent_streams, tls=ServerTLS.from_config(cfg.tls),
                                extra_options=cfg.keepalive.grpc_options() if cfg.keepalive else [],
                                transport="unix" if cfg.transport == "unix" else "tcp")
        return GRPCServer(settings, self._handle, signals, self._log, bad)

    def _http_server(self, signals, bad):
        from collector.otlp.cors import CORSPolicy
        from collector.otlp.http_server import HTTPServer, HTTPSettings
        from collector.otlp.listen import ServerTLS

        cfg = self._config.protocols.http
        cors = None
        if cfg.cors is not None and cfg.cors.allowed_origins:
            cors = CORSPolicy.build(cfg.cors.allowed_origins, cfg.cors.allowed_headers, cfg.cors.max_age,
                                    cfg.cors.exposed_headers)
        settings = HTTPSettings(endpoint=cfg.endpoint, paths=cfg.paths(), max_request_body_size=cfg.body_limit(),
                                tls=ServerTLS.from_config(cfg.tls), cors=cors,
                                transport="unix" if cfg.transport == "unix" else "tcp",
                                response_headers=tuple((str(k), str(v)) for k, v in cfg.response_headers.items()),
                                encodings=cfg.decoded_encodings(), keep_alive=cfg.keep_alive(),
                                idle_timeout=cfg.socket_timeout())
        return HTTPServer(settings, self._handle, signals, self._log, bad)

    def shutdown(self, deadline: float) -> None:
        # Receivers stop first: no new data; requests in flight get what is left of the deadline.
        servers, self._servers = self._servers, []
        for server in servers:
            server.stop(grace=max(0.0, min(5.0, deadline - time.monotonic())))

    @property
    def endpoints(self) -> dict[str, str]:
        """Bound addresses by transport ("grpc", "http"), e.g. when configured with port 0."""
        return {s.transport: s.endpoint for s in self._servers}

    # -- one request ---------------------------------------------------------------------------
    def _handle(self, signal: str, request, transport: str, peer: str | None):
        n = count_items(signal, request)
        try:
            self._consumers[signal].consume(Payload(signal, request, [], peer))
        except PermanentError as e:
            self._telemetry.receiver_refused(signal, n, transport)
            raise ExportFailure("INVALID_ARGUMENT", 400, str(e) or "permanent error") from None
        except Exception as e:
            self._telemetry.receiver_refused(signal, n, transport)
            raise self._retryable(e) from None
        self._telemetry.receiver_accepted(signal, n, transport)
        return None

    def _retryable(self, e: Exception) -> ExportFailure:
        from collector.component import Refused

        if not isinstance(e, Refused):
            self._log.error("pipeline consumer failed: %s", e, exc_info=True)
        code = getattr(e, "grpc_code", None)
        if code not in GRPC_CODES or code == "OK":
            code = "UNAVAILABLE"
        retry_after = getattr(e, "retry_after", None)
        return ExportFailure(code, http_status_for(code), str(e) or "data refused",
                             retry_after if isinstance(retry_after, (int, float)) else None)
