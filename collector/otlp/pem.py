"""ssl pieces both sides of OTLP share (servers here, exporters in exporterhelper): the TLS
version names of configtls, and loading a certificate and key given as PEM bytes."""
from __future__ import annotations

import os
import ssl
import tempfile

TLS_VERSIONS = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
                "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def load_cert_chain_pem(ctx: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    """ssl only loads a key pair from files: PEM given inline goes through private temp files."""
    with tempfile.TemporaryDirectory(prefix="skuber-tls-") as d:
        cpath, kpath = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        for path, data in ((cpath, cert), (kpath, key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        ctx.load_cert_chain(cpath, kpath)
