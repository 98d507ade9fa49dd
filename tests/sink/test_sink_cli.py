"""`python -m collector sink` as a process: scripted failure, output file, clean exit on SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import grpc

from collector.otlp import json_codec
from collector.testing import free_port, wait_until
from tests.otlp.otlp_client import grpc_export, http_export, load_testdata

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_sink_command_scripts_failures_writes_jsonl_and_exits_0_on_sigterm(tmp_path):
    out = tmp_path / "out.jsonl"
    gport, hport = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector", "sink", "--grpc", f"127.0.0.1:{gport}", "--http", f"127.0.0.1:{hport}",
         "--out", str(out), "--fail-status", "UNAVAILABLE", "--fail-times", "1", "--retry-after", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        body = load_testdata("traces")
        url = f"http://127.0.0.1:{hport}"

        def up():
            try:
                return http_export(url, "/nope", b"", timeout=1).status == 404
            except OSError:
                return False

        assert wait_until(up, timeout=20), proc.stderr.read() if proc.poll() is not None else "not up"
        first = http_export(url, "/v1/traces", body, "application/json")
        assert first.status == 503 and first.headers["retry-after"] == "1"
        assert http_export(url, "/v1/traces", body, "application/json").status == 200
        assert grpc_export(f"127.0.0.1:{gport}", "traces", b"").code == grpc.StatusCode.OK
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(x["signal"], x["transport"]) for x in lines] == [("traces", "http"), ("traces", "grpc")]
    assert lines[0]["request"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] == \
        "5b8efff798038103d269b633813fc60c"


def test_sink_command_writes_to_stdout_by_default():
    gport, hport = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector", "sink", "--grpc", f"127.0.0.1:{gport}", "--http", f"127.0.0.1:{hport}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        body = json_codec.parse_json_bytes("logs", load_testdata("logs")).SerializeToString()
        # Retried until the process listens; the first answer that is not UNAVAILABLE is an OK.
        assert wait_until(lambda: grpc_export(f"127.0.0.1:{gport}", "logs", body,
                                              timeout=1).code != grpc.StatusCode.UNAVAILABLE, timeout=20)
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    (line,) = stdout.splitlines()
    record = json.loads(line)
    assert (record["signal"], record["transport"]) == ("logs", "grpc")
    assert record["request"]["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["body"] == \
        {"stringValue": "Example log record"}
