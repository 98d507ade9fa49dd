"""TLS for exporters: endpoints, ssl contexts (HTTP, `check`), gRPC channel credentials, and
`insecure_skip_verify` for gRPC.

grpcio has no switch to skip certificate verification. The honest way used here: fetch the
gateway's certificate over a TLS handshake made with the ssl module (no verification, exactly
what skip-verify asks for), pin that certificate as the only trusted root of the gRPC channel
and set `grpc.ssl_target_name_override` to a name the certificate carries. The channel then
accepts that certificate and nothing else; this is logged, with the certificate's fingerprint.
"""
from __future__ import annotations

import hashlib
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from collector.otlp.pem import TLS_VERSIONS, load_cert_chain_pem



@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    secure: bool     # TLS or plain text
    scheme: str      # "http", "https" or "" when none was written

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_grpc_endpoint(endpoint: str, tls) -> Endpoint:
    """configgrpc rules: `https://` means TLS, `http://` plain text, otherwise `tls.insecure`
    decides (TLS is the default, as in otelcol)."""
    scheme, text = _grpc_target(endpoint)
    host, port = _split_host_port(text, default_port=4317)
    if scheme == "https":
        secure = True
    elif scheme == "http":
        secure = False
    else:
        secure = not tls.insecure
    return Endpoint(host, port, secure, scheme)


def _grpc_target(endpoint: str) -> tuple[str, str]:
    """(scheme, host:port). `dns://[authority]/host:port` (grpc naming) resolves host:port
    with the system resolver; the authority (a DNS server) is not used."""
    text = endpoint.strip()
    scheme = ""
    if "://" in text:
        scheme, _, text = text.partition("://")
        scheme = scheme.lower()
        if scheme == "dns":
            text = text.rpartition("/")[2] if "/" in text else text
        text = text.rstrip("/")
    return scheme, text


def grpc_host_port(endpoint: str) -> tuple[str, int | None]:
    """The host and port an otlp exporter endpoint names; port None when it has none."""
    _, text = _grpc_target(endpoint)
    try:
        host, port = _split_host_port(text, default_port=0)
    except ValueError:
        return text, None
    return host, port or None


def parse_http_url(url: str) -> Endpoint:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return Endpoint(parts.hostname or "", port, scheme == "https", scheme)


def _split_host_port(text: str, default_port: int) -> tuple[str, int]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    try:
        return host, int(port) if port else default_port
    except ValueError:
        raise ValueError(f"invalid port in endpoint {text!r}") from None


def read_ca_pem(tls) -> bytes | None:
    if tls.ca_pem:
        return tls.ca_pem.encode()
    if tls.ca_file:
        with open(tls.ca_file, "rb") as f:
            return f.read()
    return None


def read_client_pair(tls) -> tuple[bytes | None, bytes | None]:
    cert = tls.cert_pem.encode() if tls.cert_pem else None
    key = tls.key_pem.encode() if tls.key_pem else None
    if tls.cert_file:
        with open(tls.cert_file, "rb") as f:
            cert = f.read()
    if tls.key_file:
        with open(tls.key_file, "rb") as f:
            key = f.read()
    return cert, key


def ssl_context(tls, alpn: list[str] | None = None) -> ssl.SSLContext:
    """A client context honouring every TLSClientConfig key ssl can express."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca = read_ca_pem(tls)
    if ca is not None:
        if not tls.include_system_ca_certs_pool:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cadata=ca.decode())
    if tls.min_version:
        ctx.minimum_version = TLS_VERSIONS[tls.min_version]
    if tls.max_version:
        ctx.maximum_version = TLS_VERSIONS[tls.max_version]
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    cert, key = read_client_pair(tls)
    if cert and key:
        load_cert_chain_pem(ctx, cert, key)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def ignored_tls_settings(tls, for_grpc: bool) -> list[str]:
    """TLSClientConfig keys this transport cannot honour: said once in the log at start rather
    than silently ignored."""
    ignored = []
    if tls.cipher_suites:
        ignored.append("cipher_suites (Go cipher names; the TLS library's defaults are used)")
    if tls.reload_interval:
        ignored.append("reload_interval (certificates are read when the connection is set up)")
    if for_grpc:
        if tls.min_version not in ("", "1.2") or tls.max_version:
            ignored.append("min_version/max_version (grpcio cannot restrict TLS versions; it "
                           "negotiates TLS 1.2 or 1.3)")
        if tls.include_system_ca_certs_pool and (tls.ca_file or tls.ca_pem):
            ignored.append("include_system_ca_certs_pool (grpcio takes one root set: only ca_file is trusted)")
    return ignored


def fetch_server_certificate(host: str, port: int, timeout: float, server_name: str | None = None,
                             alpn: list[str] | None = None) -> bytes:
    """The DER certificate the server presents, read without verifying it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    sni = server_name or (None if _is_ip(host) else host)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        with ctx.wrap_socket(sock, server_hostname=sni) as tls_sock:
            der = tls_sock.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the server presented no certificate")
    return der


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def certificate_names(der: bytes) -> list[str]:
    """DNS names, then IP addresses, then the subject CN of a certificate."""
    from cryptography import x509
    from cryptography.x509.oid import ExtensionOID, NameOID

    cert = x509.load_der_x509_certificate(der)
    names: list[str] = []
    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
        names += [n for n in san.get_values_for_type(x509.DNSName) if "*" not in n]
        names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        pass
    names += [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
              if isinstance(a.value, str)]
    return names


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


@dataclass
class GrpcSecurity:
    credentials: object | None      # None: plain text channel
    options: list[tuple[str, object]]
    pinned_name: str = ""           # set when skip-verify pinned the server certificate
    pinned_fingerprint: str = ""


def grpc_security(endpoint: Endpoint, tls, connect_timeout: float) -> GrpcSecurity:
    """Channel credentials and options for a gRPC endpoint (may contact it for skip-verify)."""
    import grpc

    if not endpoint.secure:
        return GrpcSecurity(None, [])
    options: list[tuple[str, object]] = []
    cert, key = read_client_pair(tls)
    roots = read_ca_pem(tls)
    if tls.insecure_skip_verify:
        der = fetch_server_certificate(endpoint.host, endpoint.port, connect_timeout,
                                       server_name=tls.server_name_override or None, alpn=["h2"])
        names = certificate_names(der)
        # Skip-verify means no name check either: check against a name the certificate has.
        name = names[0] if names else (tls.server_name_override or endpoint.host)
        roots = ssl.DER_cert_to_PEM_cert(der).encode()
        options.append(("grpc.ssl_target_name_override", name))
        creds = grpc.ssl_channel_credentials(roots, key, cert)
        return GrpcSecurity(creds, options, pinned_name=name, pinned_fingerprint=fingerprint(der))
    if tls.server_name_override:
        options.append(("grpc.ssl_target_name_override", tls.server_name_override))
    return GrpcSecurity(grpc.ssl_channel_credentials(roots, key, cert), options)


def explain_tls_error(e: Exception, name: str) -> str:
    """A plain-words reason for a failed TLS handshake made with the ssl module."""
    if isinstance(e, ssl.SSLCertVerificationError):
        code = getattr(e, "verify_code", None)
        if code in (18, 19, 20, 21):  # self-signed / no known issuer
            return ("the server's certificate is signed by an unknown authority (unknown CA): set "
                    "tls.ca_file to the CA that signed it, or tls.insecure_skip_verify: true for a "
                    "self-signed gateway")
        if code in (62, 64):  # hostname / IP address mismatch
            return (f"name mismatch: the server's certificate is not valid for {name!r}: use a name "
                    "the certificate has, or set tls.server_name_override")
        if code in (9, 10):
            return "the server's certificate has expired or is not yet valid"
        return f"the server's certificate was rejected: {getattr(e, 'verify_message', e)}"
    if isinstance(e, ssl.SSLError):
        reason = getattr(e, "reason", "") or ""
        if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG",
                      "HTTP_REQUEST", "UNKNOWN_PROTOCOL"):
            return ("the server speaks plain text, not TLS: set tls.insecure: true (gRPC) or use an "
                    "http:// endpoint")
        if "CERTIFICATE_REQUIRED" in reason or "HANDSHAKE_FAILURE" in reason:
            return ("the server requires a client certificate (mTLS): set tls.cert_file and "
                    "tls.key_file")
        if "UNKNOWN_CA" in reason or "BAD_CERTIFICATE" in reason:
            return "the server rejected our client certificate (mTLS: signed by a CA it does not trust)"
        if "VERSION" in reason:
            return f"no common TLS version ({reason}): check tls.min_version / tls.max_version"
        return f"TLS handshake failed: {reason or e}"
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "the TLS handshake did not finish in time (context deadline exceeded)"
    if isinstance(e, ConnectionResetError):
        return "the server closed the connection during the TLS handshake (it may not speak TLS)"
    return f"TLS handshake failed: {e}"
