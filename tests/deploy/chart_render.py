"""Render the chart with Helm's own engine (helm-python-sdk embeds Helm's Go library: no helm
binary, no cluster), with the product guide's install commands."""

from __future__ import annotations

import os

import pytest
import yaml

helm = pytest.importorskip("helm_python", reason="pip install helm-python-sdk (Helm's engine)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHART = os.path.join(ROOT, "deploy", "skuberplus-observability-agent")
RELEASE = "skuberplus-observability-agent"
NS = "skuber-observability"
GW = "10.20.30.40"

# The guide's command, --set by --set, exactly as a user types it.
GUIDE_PLAIN = [
    "global.clusterName=prod-a",
    "global.deploymentEnvironment=prod",
    "global.otelInsecure=true",
    f"global.hostEndpointHttp=http://{GW}:4318",
    f"skuber-otel-agent.otelCollectorEndpoint={GW}:4317",
    "skuber-apm-agent.config.data.attributes.kubernetes.cluster_name=prod-a",
    f"instrumentation.exporter.endpoint=http://{GW}:4317",
]
# The TLS variant: https:// endpoints and the agent's TLS switches.
GUIDE_TLS = [
    "global.clusterName=prod-a",
    "global.deploymentEnvironment=prod",
    "global.otelInsecure=false",
    f"global.hostEndpointHttp=https://{GW}:4318",
    f"skuber-otel-agent.otelCollectorEndpoint={GW}:4317",
    "skuber-otel-agent.otelInsecure=false",
    "skuber-otel-agent.insecureSkipVerify=true",
    "skuber-apm-agent.config.data.attributes.kubernetes.cluster_name=prod-a",
    f"instrumentation.exporter.endpoint=https://{GW}:4317",
]


def values_from_sets(sets: list[str]) -> dict:
    """Each --set parsed by Helm's strvals parser, merged in order as `helm --set a --set b`."""
    merged: dict = {}

    def merge(into: dict, new: dict) -> None:
        for k, v in new.items():
            if isinstance(v, dict) and isinstance(into.get(k), dict):
                merge(into[k], v)
            else:
                into[k] = v
    for s in sets:
        merge(merged, helm.parse_set_string(s))
    return merged


class Rendered:
    def __init__(self, manifests: dict[str, str]):
        self.notes = ""
        self.objects: list[dict] = []
        for path, text in sorted(manifests.items()):
            if path.endswith("NOTES.txt"):
                self.notes = text
                continue
            for doc in yaml.safe_load_all(text):
                if doc:
                    doc.setdefault("metadata", {})
                    self.objects.append(doc)

    def get(self, kind: str, name: str) -> dict:
        found = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        assert len(found) == 1, f"{kind}/{name}: found {len(found)}"
        return found[0]

    def has(self, kind: str, name: str) -> bool:
        return any(o["kind"] == kind and o["metadata"]["name"] == name for o in self.objects)

    def of_kind(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o["kind"] == kind]

    def config(self, configmap: str, key: str) -> dict:
        return yaml.safe_load(self.get("ConfigMap", configmap)["data"][key])


def render(sets: list[str] | None = None, values: dict | None = None) -> Rendered:
    vals = values_from_sets(sets or [])
    if values:
        vals.update(values)
    with helm.Chart.load(CHART) as chart:
        return Rendered(chart.render(values=vals, name=RELEASE, namespace=NS, is_install=True))


def crd_documents() -> list[dict]:
    with helm.Chart.load(CHART) as chart:
        return [yaml.safe_load(c["data"]) for c in chart.crds]
