"""Service discovery against the fixture /proc tree: selectors, exclusions and names."""
from __future__ import annotations

import os

from collector.config.decode import decode
from ebpf.config import DiscoveryConfig
from ebpf.discovery import ServiceRegistry
from ebpf.pod_metadata import PodInfo

PROC = os.path.join(os.path.dirname(__file__), "..", "fixtures", "ebpf", "proc")
CID = "ab" * 32


def registry(raw=None, pods=None, self_pid=1):
    cfg = decode(DiscoveryConfig, raw or {}, "discovery")
    return ServiceRegistry(cfg, proc=PROC, pod_lookup=(pods or {}).get, self_pid=self_pid)


def test_scan_finds_processes_with_tcp_sockets_and_their_listen_ports():
    r = registry()
    seeds = r.scan()
    assert {p.pid for p in r.services()} == {4242, 4243}  # 4244 has no sockets
    assert r.get(4242).ports == {8080, 8081}
    assert r.listener(8080).pid == 4242
    # established sockets seed HTTP capture with their direction
    assert sorted((pid, fd, role) for pid, fd, role, _ in seeds) == [(4242, 4, 2), (4243, 7, 1)]


def test_service_name_prefers_otel_service_name_then_executable():
    r = registry()
    r.scan()
    assert r.get(4242).name == "checkout"
    assert r.get(4243).name == "curl"
    assert r.get(4242).container_id == CID


def test_pod_annotation_label_and_owner_name_in_beyla_order():
    base = dict(name="web-7d9f-abcde", namespace="shop", owner_kind="Deployment", owner_name="web")
    cases = [
        (PodInfo(**base, labels={"app.kubernetes.io/name": "lbl"},
                 annotations={"resource.opentelemetry.io/service.name": "annot"}), "annot"),
        (PodInfo(**base, labels={"app.kubernetes.io/name": "lbl"}), "lbl"),
        (PodInfo(**base), "web"),
    ]
    for pod, want in cases:
        r = registry(pods={CID: pod})
        p = r.observe(4243)  # no OTEL_SERVICE_NAME, but give it the pod via its container
        r2 = registry(pods={CID: pod})
        p2 = r2.observe(4242)
        assert p.name == "curl"              # not in a container: executable name
        assert p2.name == "checkout"         # OTEL_SERVICE_NAME wins over pod metadata
        # without the env var, the pod metadata decides
        p2.env_service_name = None
        r2._decide(p2)
        assert (p2.name, p2.namespace) == (want, "shop")


def test_instrument_selector_by_open_ports_keeps_only_matching_processes():
    r = registry({"instrument": [{"open_ports": "8000-8080"}]})
    r.scan()
    assert {p.pid for p in r.services()} == {4242}


def test_instrument_selector_by_exe_path_glob_and_name_override():
    r = registry({"instrument": [{"exe_path": "*/curl", "name": "poller", "namespace": "tools"}]})
    r.scan()
    assert [(p.pid, p.name, p.namespace) for p in r.services()] == [(4243, "poller", "tools")]


def test_legacy_services_selector_uses_regular_expressions():
    r = registry({"services": [{"exe_path": "api-serv.r$"}]})
    r.scan()
    assert {p.pid for p in r.services()} == {4242}


def test_exclude_instrument_and_self_exclusion():
    r = registry({"exclude_instrument": [{"exe_path": "*curl"}]}, self_pid=4242)
    r.scan()
    assert r.services() == []


def test_default_exclusions_drop_kube_system_pods_unless_overridden():
    pod = PodInfo(name="coredns-1", namespace="kube-system")
    r = registry(pods={CID: pod})
    r.scan()
    assert {p.pid for p in r.services()} == {4243}
    r = registry({"default_exclude_instrument": []}, pods={CID: pod})
    r.scan()
    assert {p.pid for p in r.services()} == {4242, 4243}


def test_k8s_selectors_match_on_pod_metadata():
    pod = PodInfo(name="web-abc", namespace="shop", owner_kind="Deployment", owner_name="web",
                  labels={"tier": "front"})
    r = registry({"instrument": [{"k8s_deployment_name": "we*", "k8s_pod_labels": {"tier": "fr*"}}]},
                 pods={CID: pod})
    r.scan()
    assert {p.pid for p in r.services()} == {4242}
    r = registry({"instrument": [{"k8s_namespace": "other"}]}, pods={CID: pod})
    r.scan()
    assert r.services() == []


def test_exit_frees_ports_at_once_and_the_process_at_the_next_reap():
    r = registry()
    r.scan()
    r.exit(4242)
    assert r.listener(8080) is None
    assert r.get(4242).exited and 4242 not in {p.pid for p in r.services()}
    assert r.reap() == [4242] and r.get(4242) is None


def test_vanished_pid_is_ignored_and_table_is_bounded():
    r = registry()
    assert r.observe(999999) is None
    r.max_processes = 1
    r.observe(4242)
    assert r.observe(4243) is None and r.dropped == 1


def test_instrument_ignores_the_legacy_services_lists_as_beyla_does():
    # `services` alone would select curl; with `instrument` set only `instrument` counts
    r = registry({"instrument": [{"exe_path": "*api-server"}], "services": [{"exe_path": "curl$"}],
                  "exclude_services": [{"exe_path": "api"}]})
    r.scan()
    assert {p.pid for p in r.services()} == {4242}
    # legacy mode: regular expressions, and Beyla's regex default exclusions (system namespaces)
    pod = PodInfo(name="coredns-1", namespace="kube-system")
    r = registry({"services": [{"exe_path": "."}]}, pods={CID: pod})
    r.scan()
    assert {p.pid for p in r.services()} == {4243}


def test_default_exclusions_follow_beyla_namespaces_and_container_names():
    for pod in (PodInfo(name="prom-0", namespace="monitoring"),
                PodInfo(name="x-1", namespace="gke-managed-system"),
                PodInfo(name="a-0", namespace="obs", container_names={CID: "alloy"})):
        r = registry(pods={CID: pod})
        r.scan()
        assert {p.pid for p in r.services()} == {4243}, pod


def test_k8s_job_and_container_selectors():
    pod = PodInfo(name="nightly-28001-x", namespace="batch", owner_kind="Job", owner_name="nightly-28001",
                  container_names={CID: "app"})
    r = registry({"instrument": [{"k8s_job_name": "nightly-*", "k8s_container_name": "app"}]}, pods={CID: pod})
    r.scan()
    assert {p.pid for p in r.services()} == {4242}
    r = registry({"instrument": [{"k8s_container_name": "sidecar"}]}, pods={CID: pod})
    r.scan()
    assert r.services() == []


def test_namespace_from_part_of_label_and_name_from_pod_without_owner():
    r = registry(pods={CID: PodInfo(name="standalone", namespace="shop",
                                    labels={"app.kubernetes.io/part-of": "store"})})
    p = r.observe(4242)
    p.env_service_name = None
    r._decide(p)
    assert (p.name, p.namespace) == ("standalone", "store")


def test_unexpanded_env_references_are_not_names():
    from ebpf.discovery import _resource_attr, _usable
    assert _usable("$(SERVICE)") is None and _usable("cart") == "cart"
    assert _resource_attr("service.name=${NAME},service.namespace=shop", "service.name") is None
    assert _resource_attr("service.name=${NAME},service.namespace=shop", "service.namespace") == "shop"
