"""`python -m collector check --config FILE`: tells a person, in plain words, whether each
exporter's gateway is reachable, step by step as the product guide's troubleshooting does:
the name resolves, the port accepts TCP, the TLS handshake completes (and why not), and the
gateway accepts an empty export. Exits non-zero when any step fails.
"""
from __future__ import annotations

import argparse
import socket
import ssl
import sys
from dataclasses import dataclass, field

from .config import ConfigErrors, load_config, parse_duration

OK, FAIL, SKIP, NOTE = "ok", "FAIL", "skip", "note"
_CHECKED_TYPES = ("otlp", "otlphttp")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", action="append", required=True, metavar="FILE",
                        help="collector config: a path, file:PATH, env:NAME or yaml:TEXT (repeat to merge several, in order)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key by dotted path, e.g. exporters.otlp.endpoint=gw:4317")
    parser.add_argument("--timeout", default="5s",
                        help="time limit of each network step (default 5s)")


@dataclass
class Step:
    status: str
    name: str
    text: str


@dataclass
class Report:
    title: str
    steps: list[Step] = field(default_factory=list)

    def add(self, status: str, name: str, text: str) -> bool:
        self.steps.append(Step(status, name, text))
        return status != FAIL

    @property
    def failed(self) -> bool:
        return any(s.status == FAIL for s in self.steps)

    def render(self) -> str:
        lines = [self.title]
        lines += [f"  {s.status:<5} {s.name:<8} {s.text}" for s in self.steps]
        return "\n".join(lines)


# ---- the steps ---------------------------------------------------------------------------

def check_resolve(report: Report, host: str, port: int) -> list[tuple] | None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        report.add(FAIL, "resolve", f"the name {host!r} does not resolve ({e.strerror}): check the "
                   "endpoint's spelling and the DNS of this host")
        return None
    addrs = sorted({info[4][0] for info in infos})
    report.add(OK, "resolve", f"{host} resolves to {', '.join(addrs)}")
    return infos


def check_tcp(report: Report, infos: list[tuple], port: int, timeout: float) -> tuple | None:
    last: Exception | None = None
    for family, type_, proto, _, addr in infos:
        try:
            with socket.socket(family, type_, proto) as s:
                s.settimeout(timeout)
                s.connect(addr)
            report.add(OK, "tcp", f"{addr[0]}:{port} accepts TCP connections")
            return addr
        except OSError as e:
            last = e
    where = ", ".join(sorted({f"{i[4][0]}:{port}" for i in infos}))
    if isinstance(last, ConnectionRefusedError):
        report.add(FAIL, "tcp", f"{where}: connection refused: nothing listens on that port (gateway "
                   "down or wrong port), or a firewall rejects the connection")
    elif isinstance(last, (socket.timeout, TimeoutError)):
        report.add(FAIL, "tcp", f"{where}: no answer within {timeout:g}s (context deadline exceeded): "
                   "a firewall or VPC rule drops the packets, or the address is wrong")
    else:
        report.add(FAIL, "tcp", f"{where}: cannot connect: {last}")
    return None


def check_tls(report: Report, addr: tuple, host: str, tls, alpn: str, timeout: float) -> bool:
    from .exporters.exporterhelper.transport_security import explain_tls_error, ssl_context

    try:
        ctx = ssl_context(tls, alpn=[alpn])
    except (OSError, ssl.SSLError, ValueError) as e:
        return report.add(FAIL, "tls", f"cannot load the TLS files of the config: {e}")
    name = tls.server_name_override or host
    try:
        with socket.create_connection(addr[:2], timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=name) as s:
                version = s.version()
                cert = s.getpeercert() or {}
                # TLS 1.3 servers report a missing client certificate after the handshake:
                # a short read surfaces that alert here rather than in the export step.
                # Some servers (gRPC's BoringSSL) just close the connection instead.
                s.settimeout(0.3)
                try:
                    closed = s.recv(1) == b""
                except (socket.timeout, TimeoutError, ssl.SSLWantReadError):
                    closed = False
    except Exception as e:  # every failure here is a finding to explain, never a crash
        return report.add(FAIL, "tls", explain_tls_error(e, name))
    if closed:
        has_cert = bool(tls.cert_file or tls.cert_pem)
        return report.add(FAIL, "tls", "the server closed the connection right after the handshake: "
                          + ("it most likely rejected our client certificate (mTLS)" if has_cert else
                             "it most likely requires a client certificate (mTLS): set tls.cert_file "
                             "and tls.key_file"))
    if tls.insecure_skip_verify:
        return report.add(OK, "tls", f"handshake completed ({version}); the certificate was NOT "
                          "verified (tls.insecure_skip_verify)")
    subject = _dn(cert.get("subject", ()))
    issuer = _dn(cert.get("issuer", ()))
    return report.add(OK, "tls", f"handshake completed ({version}); certificate for {subject} "
                      f"issued by {issuer}, valid for {name!r}")


def _dn(rdns) -> str:
    parts = [f"{k}={v}" for rdn in rdns for k, v in rdn if k in ("commonName", "organizationName")]
    return ", ".join(parts) or "(no name)"


def check_export(report: Report, transport, signal: str, timeout: float) -> bool:
    from .exporters.exporterhelper.send_errors import SendError

    try:
        partial = transport.send(signal, b"", timeout)  # b"" is an empty Export*ServiceRequest
    except SendError as e:
        return report.add(FAIL, "export", f"an empty {signal} export was refused: {e.message}")
    except Exception as e:  # a broken gateway must produce a report, not a traceback
        return report.add(FAIL, "export", f"an empty {signal} export failed: {e!r}")
    extra = f" (partial success: {partial.message})" if partial else ""
    return report.add(OK, "export", f"the gateway accepts an empty {signal} export{extra}")


# ---- per exporter ------------------------------------------------------------------------

def _signals_of(config, cid) -> list[str]:
    used = sorted({pid.type for pid, pipe in config.pipelines().items() if str(cid) in pipe.exporters})
    return used or ["traces"]


def check_exporter(config, cid, comp, timeout: float) -> Report:
    from .exporters.exporterhelper.transport_security import parse_grpc_endpoint

    cfg = comp.config
    if cid.type == "otlp":
        ep = parse_grpc_endpoint(cfg.endpoint, cfg.tls)
        report = Report(f"exporter {cid} (OTLP/gRPC to {cfg.endpoint}, {'TLS' if ep.secure else 'plain text'}):")
        targets = [(ep, _signals_of(config, cid))]
        alpn = "h2"
    else:
        from .exporters.exporterhelper.transport_security import parse_http_url
        signals = _signals_of(config, cid)
        report = Report(f"exporter {cid} (OTLP/HTTP to {cfg.endpoint or 'per-signal URLs'}):")
        by_ep: dict = {}
        for sig in signals:
            by_ep.setdefault(parse_http_url(cfg.signal_url(sig)), []).append(sig)
        targets = list(by_ep.items())
        alpn = "http/1.1"
    transport = _transport(cid, cfg)
    try:
        for ep, signals in targets:
            _check_target(report, ep, cfg.tls, alpn, transport, signals, timeout)
    finally:
        transport.close()
    return report


def _transport(cid, cfg):
    import logging
    logger = logging.getLogger(f"collector.check.{cid}")
    if cid.type == "otlp":
        from .exporters.otlp.grpc_transport import GrpcTransport
        return GrpcTransport(cfg, logger, user_agent="skuber-collector-check")
    from .exporters.otlphttp.http_transport import HttpTransport
    return HttpTransport(cfg, logger, user_agent="skuber-collector-check")


def _check_target(report: Report, ep, tls, alpn: str, transport, signals: list[str], timeout: float) -> None:
    infos = check_resolve(report, ep.host, ep.port)
    if infos is None:
        report.add(SKIP, "export", "not tried: the name does not resolve")
        return
    addr = check_tcp(report, infos, ep.port, timeout)
    if addr is None:
        report.add(SKIP, "export", "not tried: no TCP connection")
        return
    if ep.secure:
        if not check_tls(report, addr, ep.host, tls, alpn, timeout):
            report.add(SKIP, "export", "not tried: no TLS session")
            return
    else:
        report.add(NOTE, "tls", "not used (plain text endpoint)")
    for sig in signals:
        if not check_export(report, transport, sig, timeout) and not ep.secure and _speaks_tls(addr, timeout):
            report.add(FAIL, "tls", "the server speaks TLS but the config says plain text: remove "
                       "tls.insecure (gRPC) or use an https:// endpoint")
            break


def _speaks_tls(addr: tuple, timeout: float) -> bool:
    """Whether a TLS handshake (unverified: only the protocol matters here) completes."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(addr[:2], timeout=timeout) as raw:
            with ctx.wrap_socket(raw):
                return True
    except (OSError, ssl.SSLError):
        return False


def main(args) -> int:
    try:
        timeout = parse_duration(args.timeout)
        if timeout <= 0:
            raise ValueError("must be positive")
    except ValueError as e:
        print(f"error: --timeout {args.timeout!r}: {e}", file=sys.stderr)
        return 2
    from .cli import plain_warnings
    plain_warnings()
    try:
        config = load_config(args.config, args.set)
    except ConfigErrors as e:
        for err in e.errors:
            print(f"error: {err}", file=sys.stderr)
        return 1
    failed = 0
    checked = 0
    for cid, comp in sorted(config.exporters.items()):
        if cid.type not in _CHECKED_TYPES:
            print(f"exporter {cid}: not a network OTLP exporter, nothing to check")
            continue
        checked += 1
        report = check_exporter(config, cid, comp, timeout)
        print(report.render())
        failed += report.failed
    if checked == 0:
        print("No otlp or otlphttp exporter in the config: nothing to check.")
    elif failed:
        print(f"Result: {failed} of {checked} exporter(s) cannot reach their gateway.")
    else:
        print(f"Result: all {checked} exporter(s) reach their gateway.")
    return 1 if failed else 0
