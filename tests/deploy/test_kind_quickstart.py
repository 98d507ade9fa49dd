"""The kind quickstart cannot run here (no Docker engine, no cluster): check what can be checked
offline, that it is valid bash, installs with exactly the guide's values, and that its gateway
stand-in manifest is valid."""

from __future__ import annotations

import copy
import os
import re
import subprocess

import pytest
import yaml

from tests.deploy.chart_render import GUIDE_PLAIN, ROOT

SCRIPT = os.path.join(ROOT, "deploy", "kind", "quickstart.sh")
SINK = os.path.join(ROOT, "deploy", "kind", "gateway-sink.yaml")


def test_script_is_valid_bash_and_executable():
    subprocess.run(["bash", "-n", SCRIPT], check=True, timeout=30)
    assert os.access(SCRIPT, os.X_OK)


def test_script_installs_with_every_set_key_of_the_guide():
    text = open(SCRIPT, encoding="utf-8").read()
    used = set(re.findall(r"--set ([\w.-]+)=", text))
    guide_keys = {s.split("=", 1)[0] for s in GUIDE_PLAIN}
    assert guide_keys <= used
    assert "--namespace \"$NS\" --create-namespace" in text and "NS=skuber-observability" in text
    assert "cert-manager" in text and "kind create cluster" in text


def test_script_waits_for_the_five_components():
    text = open(SCRIPT, encoding="utf-8").read()
    for name in ("skuber-otel-agent", "skuber-apm-agent", "skuber-otel-deployment", "skuber-ksm",
                 "skuber-otel-operator"):
        assert name in text


def test_gateway_sink_manifest_is_valid_and_runs_the_sink():
    kv = pytest.importorskip("kubernetes_validate")
    docs = [d for d in yaml.safe_load_all(open(SINK, encoding="utf-8")) if d]
    for doc in docs:
        kv.validate(copy.deepcopy(doc), kv.latest_version(), strict=True)
    deploy = next(d for d in docs if d["kind"] == "Deployment")
    args = deploy["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[0] == "sink" and "0.0.0.0:4317" in args and "0.0.0.0:4318" in args


def test_podman_image_is_named_as_the_pods_reference_it():
    """`skuber-agent:dev` resolves to docker.io/library/skuber-agent:dev on the kind node; a
    podman build would otherwise be localhost/skuber-agent:dev, and pullPolicy Never fails."""
    text = open(SCRIPT, encoding="utf-8").read()
    podman = [line for line in text.splitlines() if line.strip().startswith("podman ")]
    assert podman and all('"docker.io/library/$IMAGE"' in line for line in podman)
    assert "localhost/" not in text.replace("localhost/...", "")


def test_no_grep_q_at_the_end_of_a_pipe_under_pipefail():
    text = open(SCRIPT, encoding="utf-8").read()
    assert "set -euo pipefail" in text
    assert not re.search(r"\|\s*grep\s+-q", text)
