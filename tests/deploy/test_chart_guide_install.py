"""The guide's `helm upgrade --install` renders the five components with the promised names,
labels, values, mounts, privileges and RBAC (plain and TLS variants, APM on and off)."""

from __future__ import annotations

import pytest

from tests.deploy.chart_render import GUIDE_PLAIN, GUIDE_TLS, GW, NS, crd_documents, render

COMPONENTS = {"skuber-otel-agent": "DaemonSet", "skuber-apm-agent": "DaemonSet",
              "skuber-otel-deployment": "Deployment", "skuber-ksm": "Deployment",
              "skuber-otel-operator": "Deployment"}


@pytest.fixture(scope="module")
def plain():
    return render(GUIDE_PLAIN)


@pytest.fixture(scope="module")
def tls():
    return render(GUIDE_TLS)


def container(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]["containers"][0]


def mounts(workload: dict) -> dict:
    c = container(workload)
    vols = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
    return {m["mountPath"]: (vols[m["name"]], m.get("readOnly", False)) for m in c["volumeMounts"]}


def test_five_components_with_guide_names_and_labels(plain):
    for name, kind in COMPONENTS.items():
        w = plain.get(kind, name)
        assert w["metadata"]["namespace"] == NS
        assert w["metadata"]["labels"]["app.kubernetes.io/name"] == name
        assert w["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == name
        assert w["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == name
        c = container(w)
        assert c["args"][0] in ("run", "operator")
        # Each role's config is its own ConfigMap, mounted where its args point.
        if c["args"][0] == "run":
            cm = w["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"]
            key = c["args"][2].rsplit("/", 1)[1]
            assert key in plain.get("ConfigMap", cm)["data"]
    assert len(plain.of_kind("DaemonSet")) == 2 and len(plain.of_kind("Deployment")) == 3


def test_values_flow_into_every_generated_config(plain):
    configs = {"agent": plain.config("skuber-otel-agent", "agent.yaml"),
               "cluster": plain.config("skuber-otel-deployment", "cluster.yaml"),
               "apm": plain.config("skuber-apm-agent", "apm.yaml")}
    for cfg in configs.values():
        attrs = {a["key"]: a["value"] for a in cfg["processors"]["resource"]["attributes"]}
        assert attrs == {"k8s.cluster.name": "prod-a", "deployment.environment.name": "prod"}
        assert cfg["exporters"]["otlp"]["endpoint"] == f"{GW}:4317"
        assert cfg["exporters"]["otlp"]["tls"] == {"insecure": True, "insecure_skip_verify": False}
    assert configs["apm"]["receivers"]["apm"]["attributes"]["kubernetes"]["cluster_name"] == "prod-a"


def test_tls_variant_switches_exporters_to_verified_tls_with_skip_verify(tls):
    for cm, key in (("skuber-otel-agent", "agent.yaml"), ("skuber-otel-deployment", "cluster.yaml"),
                    ("skuber-apm-agent", "apm.yaml")):
        assert tls.config(cm, key)["exporters"]["otlp"]["tls"] == {"insecure": False, "insecure_skip_verify": True}
    inst = tls.get("Instrumentation", "skuber-instrumentation")["spec"]
    assert inst["exporter"]["endpoint"] == f"https://{GW}:4317"
    assert inst["python"]["env"] == [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": f"https://{GW}:4318"}]
    assert "WARNING" not in tls.notes


def test_agent_only_override_wins_over_global():
    r = render(GUIDE_PLAIN + ["skuber-otel-agent.otelInsecure=false"])
    assert r.config("skuber-otel-agent", "agent.yaml")["exporters"]["otlp"]["tls"]["insecure"] is False


def test_agent_config_has_the_collector_components_and_keys(plain):
    cfg = plain.config("skuber-otel-agent", "agent.yaml")
    assert cfg["receivers"]["otlp"]["protocols"] == {"grpc": {"endpoint": "0.0.0.0:4317"},
                                                     "http": {"endpoint": "0.0.0.0:4318"}}
    assert cfg["receivers"]["hostmetrics"]["root_path"] == "/hostfs"
    assert cfg["receivers"]["filelog"]["storage"] == "file_storage"
    assert cfg["receivers"]["filelog"]["operators"][0]["type"] == "container"
    assert cfg["receivers"]["kubeletstats"]["auth_type"] == "serviceAccount"
    assert cfg["extensions"]["file_storage"]["directory"] == "/var/lib/otelcol/file_storage"
    assert cfg["service"]["extensions"] == ["health_check", "file_storage"]
    for pipeline in ("metrics", "logs", "traces"):
        p = cfg["service"]["pipelines"][pipeline]
        assert p["processors"] == ["memory_limiter", "k8sattributes", "resourcedetection", "resource", "batch"]
        assert p["exporters"] == ["otlp"]
    assert cfg["service"]["pipelines"]["logs"]["receivers"] == ["otlp", "filelog"]


def test_memory_limiter_is_derived_from_the_memory_limit():
    r = render(GUIDE_PLAIN + ["skuber-otel-agent.resources.limits.memory=2Gi"])
    ml = r.config("skuber-otel-agent", "agent.yaml")["processors"]["memory_limiter"]
    assert ml == {"check_interval": "1s", "limit_mib": 1638, "spike_limit_mib": 409}
    r = render(GUIDE_PLAIN + ["skuber-otel-agent.resources.limits.memory=1000M"])
    assert r.config("skuber-otel-agent", "agent.yaml")["processors"]["memory_limiter"]["limit_mib"] == 762


def test_cluster_config_elects_a_leader_and_scrapes_ksm(plain):
    cfg = plain.config("skuber-otel-deployment", "cluster.yaml")
    assert cfg["extensions"]["k8s_leader_elector"]["lease_namespace"] == NS
    assert cfg["receivers"]["k8s_cluster"]["k8s_leader_elector"] == "k8s_leader_elector"
    assert cfg["receivers"]["k8s_events"]["k8s_leader_elector"] == "k8s_leader_elector"
    job = cfg["receivers"]["prometheus"]["config"]["scrape_configs"][0]
    assert job["static_configs"][0]["targets"] == [f"skuber-ksm.{NS}.svc:8080"]
    ksm = plain.config("skuber-ksm", "ksm.yaml")
    assert ksm["exporters"]["prometheus"]["endpoint"] == "0.0.0.0:8080"
    assert ksm["service"]["pipelines"]["metrics"]["receivers"] == ["kube_state_metrics"]


def test_agent_mounts_logs_hostfs_readonly_and_checkpoints(plain):
    m = mounts(plain.get("DaemonSet", "skuber-otel-agent"))
    assert m["/var/log/pods"][0]["hostPath"]["path"] == "/var/log/pods" and m["/var/log/pods"][1]
    assert m["/hostfs"][0]["hostPath"]["path"] == "/" and m["/hostfs"][1]
    ckpt, ro = m["/var/lib/otelcol/file_storage"]
    assert ckpt["hostPath"]["type"] == "DirectoryOrCreate" and not ro
    sc = container(plain.get("DaemonSet", "skuber-otel-agent"))["securityContext"]
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False


def test_apm_agent_has_host_pid_host_mounts_and_only_needed_capabilities(plain):
    ds = plain.get("DaemonSet", "skuber-apm-agent")
    assert ds["spec"]["template"]["spec"]["hostPID"] is True
    m = mounts(ds)
    for path in ("/lib/modules", "/usr/src", "/sys/kernel/tracing", "/sys/fs/cgroup"):
        assert m[path][0]["hostPath"]["path"] == path and m[path][1], path
    sc = container(ds)["securityContext"]
    assert sc["privileged"] is False
    assert sc["capabilities"] == {"drop": ["ALL"],
                                  "add": ["BPF", "PERFMON", "SYS_PTRACE", "DAC_READ_SEARCH", "SYS_RESOURCE"]}
    old_kernel = render(GUIDE_PLAIN + ["skuber-apm-agent.sysAdmin=true"])
    assert "SYS_ADMIN" in container(old_kernel.get("DaemonSet", "skuber-apm-agent"))["securityContext"]["capabilities"]["add"]
    priv = render(GUIDE_PLAIN + ["skuber-apm-agent.privileged=true"])
    sc = container(priv.get("DaemonSet", "skuber-apm-agent"))["securityContext"]
    assert sc["privileged"] is True and "capabilities" not in sc


@pytest.mark.parametrize("name", ["skuber-otel-deployment", "skuber-ksm", "skuber-otel-operator"])
def test_other_roles_run_restricted(plain, name):
    c = container(plain.get("Deployment", name))
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] != 0
    assert sc["readOnlyRootFilesystem"] is True and sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["allowPrivilegeEscalation"] is False
    assert c["resources"]["limits"]["memory"] and c["resources"]["requests"]["cpu"]


@pytest.mark.parametrize("kind, name", [("DaemonSet", "skuber-otel-agent"), ("DaemonSet", "skuber-apm-agent"),
                                        ("Deployment", "skuber-otel-deployment"), ("Deployment", "skuber-ksm")])
def test_collector_probes_use_health_check(plain, kind, name):
    c = container(plain.get(kind, name))
    port = {p["name"]: p["containerPort"] for p in c["ports"]}["health"]
    assert port == 13133
    assert c["livenessProbe"]["httpGet"]["port"] == "health" == c["readinessProbe"]["httpGet"]["port"]
    cm = plain.get(kind, name)["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"]
    cfg = plain.config(cm, c["args"][2].rsplit("/", 1)[1])
    assert cfg["extensions"]["health_check"]["endpoint"] == "0.0.0.0:13133"


def rules_of(r, role_kind: str, name: str) -> set[tuple]:
    role = r.get(role_kind, name)
    return {(g, res, v) for rule in role["rules"] for g in rule["apiGroups"]
            for res in rule["resources"] for v in rule["verbs"]}


def test_rbac_is_read_only_except_the_lease(plain):
    for cr in plain.of_kind("ClusterRole"):
        verbs = {v for rule in cr["rules"] for v in rule["verbs"]}
        assert verbs <= {"get", "list", "watch"}, cr["metadata"]["name"]
        assert not any("secrets" in rule["resources"] for rule in cr["rules"])
    lease = rules_of(plain, "Role", "skuber-otel-deployment-leases")
    assert {r[:2] for r in lease} == {("coordination.k8s.io", "leases")}
    assert rules_of(plain, "ClusterRole", f"{NS}-skuber-otel-operator") == {
        ("opentelemetry.io", "instrumentations", v) for v in ("get", "list", "watch")}
    # Each binding binds its own component's ServiceAccount.
    for binding in plain.of_kind("ClusterRoleBinding") + plain.of_kind("RoleBinding"):
        sa = binding["subjects"][0]
        assert sa["namespace"] == NS and sa["name"] in COMPONENTS
        assert binding["roleRef"]["name"].endswith(sa["name"]) or sa["name"] in binding["roleRef"]["name"]


def test_operator_webhook_certificate_and_instrumentation(plain):
    webhook = plain.get("MutatingWebhookConfiguration", f"{NS}-skuber-otel-operator")
    assert webhook["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == \
        f"{NS}/skuber-otel-operator-serving-cert"
    hook = webhook["webhooks"][0]
    assert hook["failurePolicy"] == "Ignore" and hook["sideEffects"] == "None"
    assert hook["clientConfig"]["service"] == {"name": "skuber-otel-operator", "namespace": NS,
                                               "path": "/mutate-v1-pod", "port": 443}
    assert hook["rules"][0]["resources"] == ["pods"] and hook["rules"][0]["operations"] == ["CREATE"]
    cert = plain.get("Certificate", "skuber-otel-operator-serving-cert")
    assert f"skuber-otel-operator.{NS}.svc" in cert["spec"]["dnsNames"]
    assert cert["spec"]["secretName"] == "skuber-otel-operator-tls"
    assert plain.has("Issuer", "skuber-otel-operator-selfsigned")
    args = container(plain.get("Deployment", "skuber-otel-operator"))["args"]
    assert args[0] == "operator" and f"--default-namespace={NS}" in args
    inst = plain.get("Instrumentation", "skuber-instrumentation")
    assert inst["metadata"]["namespace"] == NS
    assert inst["spec"]["exporter"]["endpoint"] == f"http://{GW}:4317"
    assert inst["spec"]["resource"]["resourceAttributes"] == {"k8s.cluster.name": "prod-a",
                                                              "deployment.environment.name": "prod"}
    for lang in ("python", "dotnet"):
        assert inst["spec"][lang]["env"] == [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": f"http://{GW}:4318"}]
    assert [c["spec"]["names"]["kind"] for c in crd_documents()] == ["Instrumentation"]


def test_generated_instrumentation_is_accepted_by_our_webhook(plain):
    from collector.operator.instrumentation import parse

    inst = parse(plain.get("Instrumentation", "skuber-instrumentation"))
    assert inst.namespace == NS and inst.languages["python"].env[0]["value"] == f"http://{GW}:4318"


def test_apm_disabled_removes_only_the_apm_agent():
    r = render(GUIDE_PLAIN + ["apmAgent.enabled=false"])
    assert not r.has("DaemonSet", "skuber-apm-agent") and not r.has("ConfigMap", "skuber-apm-agent")
    assert not r.has("ClusterRole", f"{NS}-skuber-apm-agent")
    for name in ("skuber-otel-deployment", "skuber-ksm", "skuber-otel-operator"):
        assert r.has("Deployment", name)
    assert r.has("DaemonSet", "skuber-otel-agent")
    assert "skuber-apm-agent" not in r.notes


def test_notes_tell_how_to_verify_and_warn_on_cluster_name_mismatch(plain):
    assert f"kubectl -n {NS} get pods" in plain.notes
    assert f"kubectl -n {NS} logs -l app.kubernetes.io/name=skuber-otel-agent --tail=20" in plain.notes
    assert "WARNING" not in plain.notes
    r = render([s for s in GUIDE_PLAIN if "cluster_name" not in s]
               + ["skuber-apm-agent.config.data.attributes.kubernetes.cluster_name=prod-b"])
    assert "differs from" in r.notes and '"prod-b"' in r.notes


def test_forgotten_https_under_tls_is_warned():
    sets = [s.replace("https://", "http://") for s in GUIDE_TLS]
    assert "use https://" in render(sets).notes


def test_apm_cluster_name_defaults_to_global():
    r = render([s for s in GUIDE_PLAIN if "cluster_name" not in s])
    assert r.config("skuber-apm-agent", "apm.yaml")["receivers"]["apm"]["attributes"]["kubernetes"][
        "cluster_name"] == "prod-a"


def test_rbac_grants_exactly_what_each_component_reads(plain):
    """Each ClusterRole is the list of what its component's code watches, no more (the tables
    the receivers build their informers from), plus the kubelet's stats for kubeletstats."""
    from collector.receivers.k8s_cluster.receiver import RESOURCES as CLUSTER_RESOURCES
    from collector.receivers.kube_state_metrics.families import RESOURCES as KSM_RESOURCES

    read = ("get", "list", "watch")
    assert rules_of(plain, "ClusterRole", f"{NS}-skuber-otel-agent") == (
        {("", "pods", v) for v in read} | {("", "nodes/stats", "get")})
    assert rules_of(plain, "ClusterRole", f"{NS}-skuber-apm-agent") == {("", "pods", v) for v in read}
    cluster = {(g, plural) for plural, g, _v, _scoped, _kind in CLUSTER_RESOURCES} | {("", "events")}
    assert rules_of(plain, "ClusterRole", f"{NS}-skuber-otel-deployment") == {
        (g, res, v) for g, res in cluster for v in read}
    assert rules_of(plain, "ClusterRole", f"{NS}-skuber-ksm") == {
        (g, plural, v) for plural, g, _v, _fn, _scoped in KSM_RESOURCES.values() for v in ("list", "watch")}
    # The elector creates its lease, then reads and renews (PUT) that one lease only.
    lease_name = plain.config("skuber-otel-deployment", "cluster.yaml")["extensions"]["k8s_leader_elector"]["lease_name"]
    rules = plain.get("Role", "skuber-otel-deployment-leases")["rules"]
    assert {(tuple(r["verbs"]), tuple(r.get("resourceNames", ()))) for r in rules} == {
        (("create",), ()), (("get", "update"), (lease_name,))}


def test_numeric_image_tag_renders_as_text():
    r = render(GUIDE_PLAIN, values={"image": {"repository": "reg/skuber-agent", "tag": 2}})
    assert container(r.get("DaemonSet", "skuber-otel-agent"))["image"] == "reg/skuber-agent:2"
