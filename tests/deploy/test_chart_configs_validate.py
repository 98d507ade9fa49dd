"""The collector configs the chart generates pass `python -m collector validate`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.deploy.chart_render import GUIDE_PLAIN, GUIDE_TLS, ROOT, render

ROLES = {"agent.yaml": "skuber-otel-agent", "cluster.yaml": "skuber-otel-deployment",
         "ksm.yaml": "skuber-ksm", "apm.yaml": "skuber-apm-agent"}
KINDS = {"receivers": "receiver", "processors": "processor", "exporters": "exporter", "extensions": "extension"}


def _missing_components(cfg: dict) -> list[str]:
    from collector.registry import default_registry

    reg = default_registry()
    return sorted(f"{kind}/{cid.split('/')[0]}" for section, kind in KINDS.items()
                  for cid in cfg.get(section, {}) if reg.get(kind, cid.split("/")[0]) is None)


@pytest.mark.parametrize("sets", [GUIDE_PLAIN, GUIDE_TLS], ids=["plain", "tls"])
@pytest.mark.parametrize("key", sorted(ROLES))
def test_generated_config_passes_collector_validate(tmp_path, sets, key):
    rendered = render(sets)
    cfg = rendered.config(ROLES[key], key)
    assert _missing_components(cfg) == [], "the chart uses a component this collector does not have"
    path = tmp_path / key
    path.write_text(rendered.get("ConfigMap", ROLES[key])["data"][key])
    env = dict(os.environ, K8S_NODE_NAME="node-1", K8S_NODE_IP="10.0.0.9", K8S_POD_NAME="p",
               K8S_POD_NAMESPACE="skuber-observability")
    cmd = [sys.executable, "-m", "collector", "validate", "--config", str(path)]
    if "hostmetrics" in cfg.get("receivers", {}):
        # root_path must exist (as in otelcol); /hostfs is the node's / mounted into the pod,
        # and this machine's own / stands for it here.
        assert cfg["receivers"]["hostmetrics"]["root_path"] == "/hostfs"
        cmd += ["--set", "receivers.hostmetrics.root_path=/"]
    proc = subprocess.run(cmd,
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{key}:\n{proc.stdout}\n{proc.stderr}"
