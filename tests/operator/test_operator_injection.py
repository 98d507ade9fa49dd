"""Each language gets exactly what the OpenTelemetry Operator injects; the patched pod is a
valid Pod; the user's own settings survive."""

from __future__ import annotations

import pytest

from collector.operator import jsonpatch
from collector.operator.instrumentation import DEFAULT_IMAGES

from tests.operator.operator_pods import GW, apply, deployment_pod, env_of, validate_pod

ANN = "instrumentation.opentelemetry.io/"


def mutate_and_check(mutator, pod, namespace="shop"):
    result = mutator.mutate(pod, namespace)
    ops = jsonpatch.diff(pod, result.pod)
    patched = apply(pod, ops)
    assert patched == result.pod
    validate_pod(patched)
    return result, patched


def common_env_asserts(env, service="checkout", version="1.4.2", container="app"):
    assert env["OTEL_SERVICE_NAME"] == service
    assert env["OTEL_PROPAGATORS"] == "tracecontext,baggage"
    assert env["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
    assert env["OTEL_TRACES_SAMPLER_ARG"] == "1"
    assert env["OTEL_RESOURCE_ATTRIBUTES_POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["OTEL_RESOURCE_ATTRIBUTES_NODE_NAME"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    assert env["OTEL_NODE_IP"] == {"fieldRef": {"fieldPath": "status.hostIP"}}
    assert env["OTEL_POD_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    attrs = dict(kv.split("=", 1) for kv in env["OTEL_RESOURCE_ATTRIBUTES"].split(","))
    assert attrs == {
        "deployment.environment.name": "prod",
        "k8s.cluster.name": "prod-a",
        "k8s.container.name": container,
        "k8s.deployment.name": "checkout",
        "k8s.namespace.name": "shop",
        "k8s.node.name": "$(OTEL_RESOURCE_ATTRIBUTES_NODE_NAME)",
        "k8s.pod.name": "$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME)",
        "k8s.replicaset.name": "checkout-5d8c7b9f4",
        "service.instance.id": f"shop.$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME).{container}",
        "service.version": version,
    }


def test_python_gets_init_container_volume_pythonpath_and_http_endpoint(mutator):
    pod = deployment_pod({ANN + "inject-python": "skuber-instrumentation"})
    result, patched = mutate_and_check(mutator, pod)
    assert result.injected == {"python": ["app"]}
    spec = patched["spec"]
    assert spec["initContainers"] == [{
        "name": "opentelemetry-auto-instrumentation-python",
        "image": DEFAULT_IMAGES["python"],
        "command": ["cp", "-r", "/autoinstrumentation/.", "/otel-auto-instrumentation-python"],
        # The operator's defaults since v0.114: 64Mi for Python (and Go), a 200Mi emptyDir.
        "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "50m", "memory": "64Mi"}},
        "volumeMounts": [{"name": "opentelemetry-auto-instrumentation-python",
                          "mountPath": "/otel-auto-instrumentation-python"}],
    }]
    assert spec["volumes"] == [{"name": "opentelemetry-auto-instrumentation-python",
                                "emptyDir": {"sizeLimit": "200Mi"}}]
    app = spec["containers"][0]
    assert app["volumeMounts"] == [{"name": "opentelemetry-auto-instrumentation-python",
                                    "mountPath": "/otel-auto-instrumentation-python"}]
    env = env_of(app)
    assert env["PYTHONPATH"] == ("/otel-auto-instrumentation-python/opentelemetry/instrumentation/"
                                 "auto_instrumentation:/otel-auto-instrumentation-python")
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://{GW}:4318"
    assert env["OTEL_TRACES_EXPORTER"] == env["OTEL_METRICS_EXPORTER"] == env["OTEL_LOGS_EXPORTER"] == "otlp"
    common_env_asserts(env)
    names = [e["name"] for e in app["env"]]
    # Variables referenced as $(VAR) must precede OTEL_RESOURCE_ATTRIBUTES.
    assert names[-1] == "OTEL_RESOURCE_ATTRIBUTES"
    assert names[:2] == ["OTEL_NODE_IP", "OTEL_POD_IP"]


def test_python_without_language_endpoint_uses_gateway_http_port(store):
    from collector.operator.instrumentation import parse
    from collector.operator.mutator import Mutator
    from collector.operator.store import FileStore

    from tests.operator.operator_pods import instrumentation_object

    obj = instrumentation_object()
    del obj["spec"]["python"]
    m = Mutator(FileStore([parse(obj)]), "skuber-observability")
    _, patched = mutate_and_check(m, deployment_pod({ANN + "inject-python": "true"}))
    assert env_of(patched["spec"]["containers"][0])["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://{GW}:4318"


def test_java_gets_javaagent_and_grpc_endpoint(mutator):
    pod = deployment_pod({ANN + "inject-java": "skuber-instrumentation"})
    _, patched = mutate_and_check(mutator, pod)
    init = patched["spec"]["initContainers"][0]
    assert init["name"] == "opentelemetry-auto-instrumentation-java"
    assert init["command"] == ["cp", "/javaagent.jar", "/otel-auto-instrumentation-java/javaagent.jar"]
    assert init["resources"]["limits"] == {"cpu": "500m", "memory": "64Mi"}
    env = env_of(patched["spec"]["containers"][0])
    assert env["JAVA_TOOL_OPTIONS"] == " -javaagent:/otel-auto-instrumentation-java/javaagent.jar"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://{GW}:4317"
    assert "OTEL_EXPORTER_OTLP_PROTOCOL" not in env
    common_env_asserts(env)


def test_nodejs_gets_require_option(mutator):
    pod = deployment_pod({ANN + "inject-nodejs": "skuber-instrumentation"})
    _, patched = mutate_and_check(mutator, pod)
    init = patched["spec"]["initContainers"][0]
    assert init["name"] == "opentelemetry-auto-instrumentation-nodejs"
    assert init["command"] == ["cp", "-r", "/autoinstrumentation/.", "/otel-auto-instrumentation-nodejs"]
    env = env_of(patched["spec"]["containers"][0])
    assert env["NODE_OPTIONS"] == " --require /otel-auto-instrumentation-nodejs/autoinstrumentation.js"
    common_env_asserts(env)


def test_dotnet_gets_profiler_variables(mutator):
    pod = deployment_pod({ANN + "inject-dotnet": "skuber-instrumentation"})
    _, patched = mutate_and_check(mutator, pod)
    init = patched["spec"]["initContainers"][0]
    assert init["name"] == "opentelemetry-auto-instrumentation-dotnet"
    assert init["command"] == ["cp", "-r", "/autoinstrumentation/.", "/otel-auto-instrumentation-dotnet"]
    env = env_of(patched["spec"]["containers"][0])
    home = "/otel-auto-instrumentation-dotnet"
    assert env["CORECLR_ENABLE_PROFILING"] == "1"
    assert env["CORECLR_PROFILER"] == "{918728DD-259F-4A6A-AC2B-B85E1B658318}"
    assert env["CORECLR_PROFILER_PATH"] == f"{home}/linux-x64/OpenTelemetry.AutoInstrumentation.Native.so"
    assert env["DOTNET_STARTUP_HOOKS"] == f"{home}/net/OpenTelemetry.AutoInstrumentation.StartupHook.dll"
    assert env["DOTNET_ADDITIONAL_DEPS"] == f"{home}/AdditionalDeps"
    assert env["DOTNET_SHARED_STORE"] == f"{home}/store"
    assert env["OTEL_DOTNET_AUTO_HOME"] == home
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://{GW}:4318"
    common_env_asserts(env)


def test_dotnet_musl_runtime_annotation_changes_profiler_path(mutator):
    pod = deployment_pod({ANN + "inject-dotnet": "skuber-instrumentation",
                          ANN + "otel-dotnet-auto-runtime": "linux-musl-x64"})
    _, patched = mutate_and_check(mutator, pod)
    assert env_of(patched["spec"]["containers"][0])["CORECLR_PROFILER_PATH"].startswith(
        "/otel-auto-instrumentation-dotnet/linux-musl-x64/")


def test_go_gets_privileged_ebpf_sidecar_sharing_process_namespace(mutator):
    pod = deployment_pod({ANN + "inject-go": "skuber-instrumentation",
                          ANN + "otel-go-auto-target-exe": "/app/server"})
    result, patched = mutate_and_check(mutator, pod)
    assert result.injected == {"go": ["app"]}
    spec = patched["spec"]
    assert spec["shareProcessNamespace"] is True
    assert [c["name"] for c in spec["containers"]] == ["app", "opentelemetry-auto-instrumentation"]
    sidecar = spec["containers"][1]
    assert sidecar["image"] == DEFAULT_IMAGES["go"]
    assert sidecar["resources"]["limits"] == {"cpu": "500m", "memory": "64Mi"}
    assert sidecar["securityContext"] == {"runAsUser": 0, "privileged": True}
    assert sidecar["volumeMounts"] == [{"mountPath": "/sys/kernel/debug", "name": "kernel-debug"}]
    assert spec["volumes"] == [{"name": "kernel-debug", "hostPath": {"path": "/sys/kernel/debug"}}]
    env = env_of(sidecar)
    assert env["OTEL_GO_AUTO_TARGET_EXE"] == "/app/server"
    common_env_asserts(env)
    assert "env" not in spec["containers"][0]  # the app itself is untouched
    assert "initContainers" not in spec


def test_go_without_target_exe_is_skipped_and_pod_unchanged(mutator):
    pod = deployment_pod({ANN + "inject-go": "skuber-instrumentation"})
    result = mutator.mutate(pod, "shop")
    assert result.pod == pod
    assert "OTEL_GO_AUTO_TARGET_EXE not set" in result.reason


def test_existing_env_is_respected_and_extended(mutator):
    containers = [{"name": "app", "image": "shop/checkout:2.0", "env": [
        {"name": "PYTHONPATH", "value": "/app/lib"},
        {"name": "OTEL_SERVICE_NAME", "value": "my-checkout"},
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://local-agent:4318"},
        {"name": "OTEL_RESOURCE_ATTRIBUTES", "value": "team=payments,k8s.cluster.name=override"},
        {"name": "OTEL_TRACES_SAMPLER", "value": "always_on"},
    ]}]
    pod = deployment_pod({ANN + "inject-python": "skuber-instrumentation"}, containers=containers)
    _, patched = mutate_and_check(mutator, pod)
    env = env_of(patched["spec"]["containers"][0])
    assert env["PYTHONPATH"] == ("/otel-auto-instrumentation-python/opentelemetry/instrumentation/"
                                 "auto_instrumentation:/app/lib:/otel-auto-instrumentation-python")
    assert env["OTEL_SERVICE_NAME"] == "my-checkout"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://local-agent:4318"
    assert env["OTEL_TRACES_SAMPLER"] == "always_on"
    assert "OTEL_TRACES_SAMPLER_ARG" not in env
    attrs = env["OTEL_RESOURCE_ATTRIBUTES"].split(",")
    assert attrs[:2] == ["team=payments", "k8s.cluster.name=override"]
    assert "k8s.cluster.name=prod-a" not in attrs and "service.version=2.0" in attrs


def test_java_tool_options_from_value_from_is_not_touched(mutator):
    containers = [{"name": "app", "image": "shop/checkout:2.0", "env": [
        {"name": "JAVA_TOOL_OPTIONS", "valueFrom": {"configMapKeyRef": {"name": "jvm", "key": "opts"}}}]}]
    pod = deployment_pod({ANN + "inject-java": "skuber-instrumentation"}, containers=containers)
    result = mutator.mutate(pod, "shop")
    assert result.pod == pod
    assert "ValueFrom" in result.reason


def test_existing_init_containers_are_kept_first(mutator):
    existing = [{"name": "migrate", "image": "shop/migrate:1", "command": ["/migrate"],
                 "securityContext": {"runAsNonRoot": True}}]
    containers = [{"name": "app", "image": "shop/checkout:1.4.2",
                   "securityContext": {"runAsUser": 1000, "runAsNonRoot": True,
                                       "allowPrivilegeEscalation": False}}]
    pod = deployment_pod({ANN + "inject-nodejs": "skuber-instrumentation"}, containers=containers,
                         init_containers=existing)
    _, patched = mutate_and_check(mutator, pod)
    inits = patched["spec"]["initContainers"]
    assert [c["name"] for c in inits] == ["migrate", "opentelemetry-auto-instrumentation-nodejs"]
    assert inits[0] == existing[0]
    # The copy runs as the app does, so the app can read what it wrote.
    assert inits[1]["securityContext"] == containers[0]["securityContext"]


def several_containers():
    return [{"name": "app", "image": "shop/checkout:1.4.2"},
            {"name": "worker", "image": "shop/worker:3.1"},
            {"name": "envoy", "image": "envoyproxy/envoy:v1.30"}]


def test_container_names_annotation_selects_containers_and_shares_one_init_container(mutator):
    pod = deployment_pod({ANN + "inject-python": "skuber-instrumentation",
                          ANN + "container-names": "app,worker"}, containers=several_containers())
    result, patched = mutate_and_check(mutator, pod)
    assert result.injected == {"python": ["app", "worker"]}
    spec = patched["spec"]
    assert [c["name"] for c in spec["initContainers"]] == ["opentelemetry-auto-instrumentation-python"]
    assert len(spec["volumes"]) == 1
    app, worker, envoy = spec["containers"]
    assert env_of(worker)["OTEL_SERVICE_NAME"] == "checkout"
    assert "k8s.container.name=worker" in env_of(worker)["OTEL_RESOURCE_ATTRIBUTES"]
    assert "service.version=3.1" in env_of(worker)["OTEL_RESOURCE_ATTRIBUTES"]
    assert "PYTHONPATH" in env_of(app)
    assert envoy == several_containers()[2]


def test_language_specific_container_names_allow_two_languages(mutator):
    pod = deployment_pod({ANN + "inject-python": "skuber-instrumentation",
                          ANN + "python-container-names": "app",
                          ANN + "inject-java": "skuber-instrumentation",
                          ANN + "java-container-names": "worker"}, containers=several_containers())
    result, patched = mutate_and_check(mutator, pod)
    assert result.injected == {"java": ["worker"], "python": ["app"]}
    assert [c["name"] for c in patched["spec"]["initContainers"]] == [
        "opentelemetry-auto-instrumentation-java", "opentelemetry-auto-instrumentation-python"]
    assert "JAVA_TOOL_OPTIONS" in env_of(patched["spec"]["containers"][1])
    assert "JAVA_TOOL_OPTIONS" not in env_of(patched["spec"]["containers"][0])


def test_two_languages_without_container_names_are_refused(mutator):
    pod = deployment_pod({ANN + "inject-python": "true", ANN + "inject-java": "true"},
                         containers=several_containers())
    result = mutator.mutate(pod, "shop")
    assert result.pod == pod and "provide container names" in result.reason


@pytest.mark.parametrize("lang", ["java", "nodejs", "python", "dotnet"])
def test_injection_is_idempotent(mutator, lang):
    pod = deployment_pod({ANN + f"inject-{lang}": "skuber-instrumentation"})
    first = mutator.mutate(pod, "shop")
    second = mutator.mutate(first.pod, "shop")
    assert second.pod == first.pod
    assert jsonpatch.diff(first.pod, second.pod) == []
    assert "already instrumented" in second.reason


def test_input_pod_is_not_modified(mutator):
    import copy

    pod = deployment_pod({ANN + "inject-java": "skuber-instrumentation"})
    before = copy.deepcopy(pod)
    mutator.mutate(pod, "shop")
    assert pod == before


def test_unknown_container_name_is_skipped_not_injected_twice_into_the_first(mutator):
    pod = deployment_pod({ANN + "inject-python": "skuber-instrumentation",
                          ANN + "container-names": "ghost,phantom,worker"}, containers=several_containers())
    result, patched = mutate_and_check(mutator, pod)
    assert result.injected == {"python": ["worker"]}
    assert "container ghost not found" in result.reason and "container phantom not found" in result.reason
    assert "env" not in patched["spec"]["containers"][0]


def make_mutator(**spec):
    from collector.operator.instrumentation import parse
    from collector.operator.mutator import Mutator
    from collector.operator.store import FileStore

    from tests.operator.operator_pods import instrumentation_object

    obj = instrumentation_object()
    for key, value in spec.items():
        if value is None:
            del obj["spec"][key]
        else:
            obj["spec"][key] = value
    return Mutator(FileStore([parse(obj)]), "skuber-observability")


def test_spec_env_endpoint_wins_over_the_derived_http_endpoint_which_sits_where_the_operators_does():
    m = make_mutator(python=None, env=[{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://mine:4318"}])
    _, patched = mutate_and_check(m, deployment_pod({ANN + "inject-python": "true"}))
    assert env_of(patched["spec"]["containers"][0])["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://mine:4318"
    _, patched = mutate_and_check(make_mutator(python=None), deployment_pod({ANN + "inject-python": "true"}))
    names = [e["name"] for e in patched["spec"]["containers"][0]["env"]]
    assert names[names.index("OTEL_SERVICE_NAME") + 1] == "OTEL_EXPORTER_OTLP_ENDPOINT"


def test_service_name_label_is_app_kubernetes_io_name_only():
    m = make_mutator(defaults={"useLabelsForResourceAttributes": True})
    pod = deployment_pod({ANN + "inject-java": "true"})
    pod["metadata"]["labels"]["app.kubernetes.io/instance"] = "shop-release"
    _, patched = mutate_and_check(m, pod)
    assert env_of(patched["spec"]["containers"][0])["OTEL_SERVICE_NAME"] == "checkout"
    pod["metadata"]["labels"]["app.kubernetes.io/name"] = "checkout-api"
    _, patched = mutate_and_check(m, pod)
    assert env_of(patched["spec"]["containers"][0])["OTEL_SERVICE_NAME"] == "checkout-api"


def job_pod(job):
    pod = deployment_pod({ANN + "inject-java": "skuber-instrumentation"})
    pod["metadata"]["labels"] = {"job-name": job}
    pod["metadata"]["generateName"] = f"{job}-"
    pod["metadata"]["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": job,
                                           "uid": "6f1c2d3e-0000-4000-8000-000000000002",
                                           "controller": True, "blockOwnerDeletion": True}]
    pod["spec"]["restartPolicy"] = "Never"
    return pod


def test_cronjob_pod_is_named_after_its_cronjob_a_plain_job_after_itself(mutator):
    _, patched = mutate_and_check(mutator, job_pod("nightly-report-28934560"))
    env = env_of(patched["spec"]["containers"][0])
    assert env["OTEL_SERVICE_NAME"] == "nightly-report"
    attrs = env["OTEL_RESOURCE_ATTRIBUTES"].split(",")
    assert "k8s.cronjob.name=nightly-report" in attrs and "k8s.job.name=nightly-report-28934560" in attrs
    _, patched = mutate_and_check(mutator, job_pod("migrate-2"))
    env = env_of(patched["spec"]["containers"][0])
    assert env["OTEL_SERVICE_NAME"] == "migrate-2" and "k8s.cronjob.name" not in env["OTEL_RESOURCE_ATTRIBUTES"]


def test_language_container_names_add_to_the_common_ones(mutator):
    pod = deployment_pod({ANN + "inject-python": "skuber-instrumentation", ANN + "container-names": "app",
                          ANN + "python-container-names": "worker"}, containers=several_containers())
    result, _ = mutate_and_check(mutator, pod)
    assert result.injected == {"python": ["app", "worker"]}
    pod["metadata"]["annotations"][ANN + "python-container-names"] = "app"
    result = mutator.mutate(pod, "shop")
    assert result.pod == pod and "duplicated container names detected: [app]" in result.reason


def test_collector_sidecar_env_does_not_count_as_instrumented(mutator):
    containers = several_containers()[:1] + [{"name": "otc-container", "image": "otel/collector:0.118.0", "env": [
        {"name": "OTEL_RESOURCE_ATTRIBUTES_NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}]
    pod = deployment_pod({ANN + "inject-java": "skuber-instrumentation"}, containers=containers)
    result, _ = mutate_and_check(mutator, pod)
    assert result.injected == {"java": ["app"]}


def test_go_target_exe_annotation_wins_over_spec_env_even_empty():
    m = make_mutator(go={"env": [{"name": "OTEL_GO_AUTO_TARGET_EXE", "value": "/spec/bin"}]})
    pod = deployment_pod({ANN + "inject-go": "true", ANN + "otel-go-auto-target-exe": ""})
    result, patched = mutate_and_check(m, pod)
    assert env_of(patched["spec"]["containers"][1])["OTEL_GO_AUTO_TARGET_EXE"] == ""
