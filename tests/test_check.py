"""`python -m collector check`: plain-words diagnosis of each exporter's path to its gateway,
run against the real sink (plain, TLS, mTLS) and against nothing at all."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest
import trustme
import yaml

from collector import check
from collector.sink import Sink
from collector.testing import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(capsys, yaml_text: str, *sets: str, timeout: str = "2s") -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    check.add_arguments(parser)
    argv = ["--config", "yaml:" + yaml_text, "--timeout", timeout]
    for s in sets:
        argv += ["--set", s]
    rc = check.main(parser.parse_args(argv))
    out = capsys.readouterr()
    return rc, out.out + out.err


def _config(exporters: str, pipelines: str = "traces: {receivers: [otlp], exporters: [%s]}") -> str:
    names = list(yaml.safe_load(exporters))
    return f"""
receivers: {{otlp: {{protocols: {{grpc: {{endpoint: "127.0.0.1:0"}}}}}}}}
exporters:
{exporters}
service:
  pipelines:
    {pipelines % ", ".join(names)}
"""


@pytest.fixture
def sink():
    s = Sink().start()
    yield s
    s.stop()


@pytest.fixture
def pki(tmp_path):
    ca, other = trustme.CA(), trustme.CA()
    paths = {"ca": tmp_path / "ca.pem", "other": tmp_path / "other.pem"}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    other.cert_pem.write_to_path(str(paths["other"]))
    for label, names in (("ip", ("127.0.0.1",)), ("named", ("gateway.example",)), ("client", ("agent",))):
        cert = ca.issue_cert(*names)
        paths[label] = tmp_path / f"{label}.pem"
        paths[label + "_key"] = tmp_path / f"{label}.key"
        cert.cert_chain_pems[0].write_to_path(str(paths[label]))
        cert.private_key_pem.write_to_path(str(paths[label + "_key"]))
    return {k: str(v) for k, v in paths.items()}


def test_reachable_gateways_pass_every_step(capsys, sink):
    rc, out = _run(capsys, _config(f"""
  otlp: {{endpoint: "{sink.grpc_endpoint}", tls: {{insecure: true}}}}
  otlphttp: {{endpoint: "{sink.http_endpoint}"}}
"""))
    assert rc == 0, out
    assert "accepts TCP connections" in out
    assert out.count("the gateway accepts an empty traces export") == 2
    assert "all 2 exporter(s) reach their gateway" in out
    assert sink.requests("traces") == 2


def test_each_signal_of_the_pipelines_is_tried(capsys, sink):
    rc, out = _run(capsys, _config(f"""
  otlphttp: {{endpoint: "{sink.http_endpoint}"}}
""", pipelines="logs: {receivers: [otlp], exporters: [%s]}\n    metrics: {receivers: [otlp], exporters: [otlphttp]}"))
    assert rc == 0, out
    assert "empty logs export" in out and "empty metrics export" in out


def test_refused_port_fails_with_connection_refused(capsys):
    port = free_port()
    rc, out = _run(capsys, _config(f"""
  otlp: {{endpoint: "127.0.0.1:{port}", tls: {{insecure: true}}}}
"""))
    assert rc == 1
    assert f"127.0.0.1:{port}: connection refused" in out
    assert "not tried: no TCP connection" in out


def test_unresolvable_name_fails_at_resolve(capsys):
    rc, out = _run(capsys, _config("""
  otlphttp: {endpoint: "http://gateway.invalid:4318"}
"""))
    assert rc == 1
    assert "'gateway.invalid' does not resolve" in out


def test_unknown_ca_is_named(capsys, pki):
    with Sink(tls_cert=pki["ip"], tls_key=pki["ip_key"]) as sink:
        rc, out = _run(capsys, _config(f"""
  otlp: {{endpoint: "{sink.grpc_endpoint}", tls: {{ca_file: "{pki['other']}"}}}}
"""))
    assert rc == 1
    assert "unknown authority (unknown CA)" in out


def test_verified_tls_passes_and_shows_the_certificate(capsys, pki):
    with Sink(tls_cert=pki["ip"], tls_key=pki["ip_key"]) as sink:
        rc, out = _run(capsys, _config(f"""
  otlp: {{endpoint: "{sink.grpc_endpoint}", tls: {{ca_file: "{pki['ca']}"}}}}
  otlphttp: {{endpoint: "{sink.http_endpoint}", tls: {{ca_file: "{pki['ca']}"}}}}
"""))
    assert rc == 0, out
    assert out.count("handshake completed (TLSv1.3)") == 2


def test_name_mismatch_is_named(capsys, pki):
    with Sink(tls_cert=pki["named"], tls_key=pki["named_key"]) as sink:
        rc, out = _run(capsys, _config(f"""
  otlp: {{endpoint: "{sink.grpc_endpoint}", tls: {{ca_file: "{pki['ca']}"}}}}
"""))
    assert rc == 1
    assert "name mismatch" in out and "'127.0.0.1'" in out


def test_skip_verify_passes_against_mismatched_self_signed_gateway(capsys, pki):
    with Sink(tls_cert=pki["named"], tls_key=pki["named_key"]) as sink:
        rc, out = _run(capsys, _config(f"""
  otlp: {{endpoint: "{sink.grpc_endpoint}", tls: {{insecure_skip_verify: true}}}}
"""))
    assert rc == 0, out
    assert "NOT verified" in out and "accepts an empty traces export" in out


def test_plain_server_behind_a_tls_config_is_named(capsys, sink):
    rc, out = _run(capsys, _config(f"""
  otlp: {{endpoint: "{sink.grpc_endpoint}"}}
"""))
    assert rc == 1
    assert "speaks plain text, not TLS" in out


def test_tls_server_behind_a_plain_text_config_is_named(capsys, pki):
    with Sink(tls_cert=pki["ip"], tls_key=pki["ip_key"]) as sink:
        rc, out = _run(capsys, _config(f"""
  otlp: {{endpoint: "{sink.grpc_endpoint}", tls: {{insecure: true}}}}
  otlphttp: {{endpoint: "{sink.http_endpoint.replace('https://', 'http://')}"}}
"""))
    assert rc == 1
    assert out.count("the server speaks TLS but the config says plain text") == 2


@pytest.mark.parametrize("kind", ["otlp", "otlphttp"])
def test_mtls_gateway_without_client_certificate_fails(capsys, pki, kind):
    with Sink(tls_cert=pki["ip"], tls_key=pki["ip_key"], client_ca=pki["ca"]) as sink:
        endpoint = sink.grpc_endpoint if kind == "otlp" else sink.http_endpoint
        rc, out = _run(capsys, _config(f"""
  {kind}: {{endpoint: "{endpoint}", tls: {{ca_file: "{pki['ca']}"}}}}
"""))
        assert rc == 1
        assert "requires a client certificate (mTLS)" in out
        rc, out = _run(capsys, _config(f"""
  {kind}: {{endpoint: "{endpoint}", tls: {{ca_file: "{pki['ca']}", cert_file: "{pki['client']}", key_file: "{pki['client_key']}"}}}}
"""))
        assert rc == 0, out


def test_gateway_refusing_the_export_fails_the_export_step(capsys, sink):
    sink.set_failure(401, times=-1)
    rc, out = _run(capsys, _config(f"""
  otlphttp: {{endpoint: "{sink.http_endpoint}"}}
"""))
    assert rc == 1
    assert "handshake" not in out
    assert "empty traces export was refused" in out and "401" in out


def test_set_overrides_apply_before_checking(capsys, sink):
    rc, out = _run(capsys, _config("""
  otlp: {endpoint: "127.0.0.1:1", tls: {insecure: true}}
"""), f"exporters.otlp.endpoint={sink.grpc_endpoint}")
    assert rc == 0, out


def test_invalid_config_names_the_key(capsys):
    rc, out = _run(capsys, _config("""
  otlp: {endpoint: "gw:4317", tls: {insecure: true}, colour: blue}
"""))
    assert rc == 1
    assert "exporters.otlp.colour: unknown key" in out


def test_command_line_entry_point(tmp_path, sink):
    cfg = tmp_path / "agent.yaml"
    cfg.write_text(_config(f"""
  otlp: {{endpoint: "{sink.grpc_endpoint}", tls: {{insecure: true}}}}
"""))
    proc = subprocess.run([sys.executable, "-m", "collector", "check", "--config", str(cfg)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "the gateway accepts an empty traces export" in proc.stdout
