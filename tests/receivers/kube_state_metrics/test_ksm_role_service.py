"""The skuber-ksm role and the cluster role's scrape of it, through the real engine (Service built
from YAML): kube_state_metrics -> prometheus exporter, and prometheus receiver -> an exporter."""
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from collector.k8s.fakeapi import objects as o
from collector.testing import free_port, start_service, wait_until


def test_ksm_role_serves_metrics_scraped_by_the_cluster_role(fake_api, tmp_path):
    for obj in o.deployment_with_pods("api", "shop", replicas=2):
        fake_api.create(obj)
    fake_api.create(o.node("node-1"))
    port = free_port()
    ksm = start_service(f"""
receivers:
  kube_state_metrics: {{auth_type: kubeConfig, collection_interval: 200ms, resources: [pods, deployments, nodes]}}
exporters:
  prometheus: {{endpoint: "127.0.0.1:{port}"}}
service:
  telemetry: {{metrics: {{address: "127.0.0.1:{free_port()}"}}}}
  pipelines:
    metrics: {{receivers: [kube_state_metrics], exporters: [prometheus]}}
""")
    cluster = None
    try:
        def families():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                return {f.name: f for f in text_string_to_metric_families(r.read().decode())}
        assert wait_until(lambda: len(families().get("kube_pod_info", type("x", (), {"samples": []})).samples) == 2, 15)
        fams = families()
        assert [s.value for s in fams["kube_deployment_status_replicas_available"].samples] == [2]
        # The cluster role scrapes that endpoint and re-exports what it scraped.
        out_port = free_port()
        cluster = start_service(f"""
receivers:
  prometheus:
    config:
      scrape_configs:
        - job_name: skuber-ksm
          scrape_interval: 300ms
          static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
exporters:
  prometheus: {{endpoint: "127.0.0.1:{out_port}"}}
service:
  telemetry: {{metrics: {{address: "127.0.0.1:{free_port()}"}}}}
  pipelines:
    metrics: {{receivers: [prometheus], exporters: [prometheus]}}
""")

        def scraped():
            with urllib.request.urlopen(f"http://127.0.0.1:{out_port}/metrics", timeout=5) as r:
                return {f.name: f for f in text_string_to_metric_families(r.read().decode())}
        assert wait_until(lambda: "kube_node_status_condition" in scraped(), 15)
        up = scraped()["up"].samples[0]
        assert up.value == 1 and up.labels["job"] == "skuber-ksm" and up.labels["instance"] == f"127.0.0.1:{port}"
        cond = [s for s in scraped()["kube_node_status_condition"].samples
                if s.labels["condition"] == "Ready" and s.labels["status"] == "true"]
        assert cond[0].value == 1 and cond[0].labels["otel_scope_name"].endswith("prometheusreceiver")
    finally:
        ksm.shutdown(time.monotonic() + 5)
        if cluster is not None:
            cluster.shutdown(time.monotonic() + 5)
