"""Per-language injection, as the OpenTelemetry Operator does it (pkg/instrumentation/{javaagent,
nodejs,python,dotnet,golang}.go): names, paths, commands and env values are the operator's, so
images built for it work unchanged.

Each `inject_<lang>` mutates a pod (Kubernetes JSON, camelCase) in place for the container at
`index`, or raises `Skip` with the operator's reason before touching anything.
"""

from __future__ import annotations

import copy
from typing import Any

from collector.operator.instrumentation import LanguageSpec

VOLUME_NAME = "opentelemetry-auto-instrumentation"
INIT_CONTAINER_NAME = "opentelemetry-auto-instrumentation"
SIDECAR_NAME = "opentelemetry-auto-instrumentation"
DEFAULT_VOLUME_SIZE = "200Mi"  # the operator's emptyDir sizeLimit when volumeLimitSize is unset

ANNOTATION_PYTHON_PLATFORM = "instrumentation.opentelemetry.io/otel-python-platform"
ANNOTATION_DOTNET_RUNTIME = "instrumentation.opentelemetry.io/otel-dotnet-auto-runtime"
ANNOTATION_GO_EXEC_PATH = "instrumentation.opentelemetry.io/otel-go-auto-target-exe"

JAVA_AGENT = " -javaagent:/otel-auto-instrumentation-java/javaagent.jar"
NODE_REQUIRE = " --require /otel-auto-instrumentation-nodejs/autoinstrumentation.js"
PYTHON_PATH_PREFIX = "/otel-auto-instrumentation-python/opentelemetry/instrumentation/auto_instrumentation"
PYTHON_PATH_SUFFIX = "/otel-auto-instrumentation-python"
DOTNET_HOME = "/otel-auto-instrumentation-dotnet"

# Init container names per language: their presence marks a pod as already instrumented.
INIT_CONTAINER_NAMES = {lang: f"{INIT_CONTAINER_NAME}-{lang}" for lang in ("java", "nodejs", "python", "dotnet")}
MOUNT_PATHS = {lang: f"/otel-auto-instrumentation-{lang}" for lang in ("java", "nodejs", "python", "dotnet")}


class Skip(Exception):
    """Injection into one container was skipped; the message is the reason logged."""


def env_index(env: list[dict[str, Any]], name: str) -> int:
    for i, item in enumerate(env):
        if item.get("name") == name:
            return i
    return -1


def _validate_env(container: dict[str, Any], *names: str) -> None:
    # A value we must extend but cannot read (it comes from a ConfigMap/Secret/field) makes
    # the result unpredictable, so the operator refuses; so do we.
    for item in container.get("env") or []:
        if item.get("name") in names and item.get("valueFrom") is not None:
            raise Skip(f"the container defines env var value via ValueFrom, envVar: {item['name']}")


def _append_spec_env(container: dict[str, Any], env: list[dict[str, Any]]) -> None:
    target = container.setdefault("env", [])
    for item in env:
        if env_index(target, item["name"]) == -1:
            target.append(copy.deepcopy(item))


def _set_if_absent(container: dict[str, Any], name: str, value: str) -> None:
    env = container.setdefault("env", [])
    if env_index(env, name) == -1:
        env.append({"name": name, "value": value})


def _append_to_env(container: dict[str, Any], name: str, suffix: str) -> None:
    """Appends `suffix` to the container's variable `name` (the operator's JAVA_TOOL_OPTIONS and
    NODE_OPTIONS rule), or sets it to `suffix` when the container has none."""
    env = container.setdefault("env", [])
    idx = env_index(env, name)
    if idx == -1:
        env.append({"name": name, "value": suffix})
    else:
        env[idx]["value"] = env[idx].get("value", "") + suffix


def _volume(spec: LanguageSpec, name: str) -> dict[str, Any]:
    if spec.volume_claim_template:
        return {"name": name, "ephemeral": {"volumeClaimTemplate": copy.deepcopy(spec.volume_claim_template)}}
    return {"name": name, "emptyDir": {"sizeLimit": spec.volume_limit_size or DEFAULT_VOLUME_SIZE}}


def _init_container_missing(pod: dict[str, Any], name: str) -> bool:
    return all(c.get("name") != name for c in pod["spec"].get("initContainers") or [])


def _mount_and_init(pod: dict[str, Any], container: dict[str, Any], spec: LanguageSpec, lang: str,
                    command: list[str]) -> None:
    name, path = f"{VOLUME_NAME}-{lang}", MOUNT_PATHS[lang]
    volume = _volume(spec, name)
    container.setdefault("volumeMounts", []).append({"name": name, "mountPath": path})
    # Volume and init container once per pod, whichever container was instrumented first.
    if _init_container_missing(pod, INIT_CONTAINER_NAMES[lang]):
        pod["spec"].setdefault("volumes", []).append(volume)
        pod["spec"].setdefault("initContainers", []).append({
            "name": INIT_CONTAINER_NAMES[lang],
            "image": spec.image,
            "command": command,
            "resources": copy.deepcopy(spec.resources),
            "volumeMounts": [{"name": name, "mountPath": path}],
        })


def inject_java(spec: LanguageSpec, pod: dict[str, Any], index: int, annotations: dict[str, str]) -> None:
    container = pod["spec"]["containers"][index]
    _validate_env(container, "JAVA_TOOL_OPTIONS")
    _append_spec_env(container, spec.env)
    argument = JAVA_AGENT
    if spec.extensions:
        argument += f" -Dotel.javaagent.extensions={MOUNT_PATHS['java']}/extensions"
    _append_to_env(container, "JAVA_TOOL_OPTIONS", argument)
    first = _init_container_missing(pod, INIT_CONTAINER_NAMES["java"])
    _mount_and_init(pod, container, spec, "java",
                    ["cp", "/javaagent.jar", MOUNT_PATHS["java"] + "/javaagent.jar"])
    if first:
        for i, ext in enumerate(spec.extensions):
            pod["spec"]["initContainers"].append({
                "name": f"{INIT_CONTAINER_NAME}-extension-{i}",
                "image": ext["image"],
                "command": ["cp", "-r", ext["dir"] + "/.", MOUNT_PATHS["java"] + "/extensions"],
                "resources": copy.deepcopy(spec.resources),
                "volumeMounts": [{"name": f"{VOLUME_NAME}-java", "mountPath": MOUNT_PATHS["java"]}],
            })


def inject_nodejs(spec: LanguageSpec, pod: dict[str, Any], index: int, annotations: dict[str, str]) -> None:
    container = pod["spec"]["containers"][index]
    _validate_env(container, "NODE_OPTIONS")
    _append_spec_env(container, spec.env)
    _append_to_env(container, "NODE_OPTIONS", NODE_REQUIRE)
    _mount_and_init(pod, container, spec, "nodejs",
                    ["cp", "-r", "/autoinstrumentation/.", MOUNT_PATHS["nodejs"]])


def inject_python(spec: LanguageSpec, pod: dict[str, Any], index: int, annotations: dict[str, str]) -> None:
    container = pod["spec"]["containers"][index]
    _validate_env(container, "PYTHONPATH")
    platform = annotations.get(ANNOTATION_PYTHON_PLATFORM, "")
    sources = {"": "/autoinstrumentation/.", "glibc": "/autoinstrumentation/.",
               "musl": "/autoinstrumentation-musl/."}
    if platform not in sources:
        raise Skip(f"provided {ANNOTATION_PYTHON_PLATFORM} annotation value '{platform}' is not supported")
    _append_spec_env(container, spec.env)
    env = container.setdefault("env", [])
    idx = env_index(env, "PYTHONPATH")
    if idx == -1:
        env.append({"name": "PYTHONPATH", "value": f"{PYTHON_PATH_PREFIX}:{PYTHON_PATH_SUFFIX}"})
    else:
        env[idx]["value"] = f"{PYTHON_PATH_PREFIX}:{env[idx].get('value', '')}:{PYTHON_PATH_SUFFIX}"
    # The Python distro only ships the OTLP/HTTP exporters, hence http/protobuf (and :4318).
    _set_if_absent(container, "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    _set_if_absent(container, "OTEL_TRACES_EXPORTER", "otlp")
    _set_if_absent(container, "OTEL_METRICS_EXPORTER", "otlp")
    _set_if_absent(container, "OTEL_LOGS_EXPORTER", "otlp")
    _mount_and_init(pod, container, spec, "python", ["cp", "-r", sources[platform], MOUNT_PATHS["python"]])


def inject_dotnet(spec: LanguageSpec, pod: dict[str, Any], index: int, annotations: dict[str, str]) -> None:
    container = pod["spec"]["containers"][index]
    _validate_env(container, "DOTNET_STARTUP_HOOKS", "DOTNET_ADDITIONAL_DEPS", "DOTNET_SHARED_STORE")
    if env_index(container.get("env") or [], "OTEL_DOTNET_AUTO_HOME") > -1:
        raise Skip("OTEL_DOTNET_AUTO_HOME environment variable is already set in the container")
    if env_index(spec.env, "OTEL_DOTNET_AUTO_HOME") > -1:
        raise Skip("OTEL_DOTNET_AUTO_HOME environment variable is already set in the .NET instrumentation spec")
    runtime = annotations.get(ANNOTATION_DOTNET_RUNTIME, "")
    profilers = {"": "linux-x64", "linux-x64": "linux-x64", "linux-musl-x64": "linux-musl-x64"}
    if runtime not in profilers:
        raise Skip(f"provided {ANNOTATION_DOTNET_RUNTIME} annotation value '{runtime}' is not supported")
    _append_spec_env(container, spec.env)
    env = container.setdefault("env", [])
    settings = [  # (name, value, concatenate with ':' when the user already set it)
        ("CORECLR_ENABLE_PROFILING", "1", False),
        ("CORECLR_PROFILER", "{918728DD-259F-4A6A-AC2B-B85E1B658318}", False),
        ("CORECLR_PROFILER_PATH",
         f"{DOTNET_HOME}/{profilers[runtime]}/OpenTelemetry.AutoInstrumentation.Native.so", False),
        ("DOTNET_STARTUP_HOOKS", f"{DOTNET_HOME}/net/OpenTelemetry.AutoInstrumentation.StartupHook.dll", True),
        ("DOTNET_ADDITIONAL_DEPS", f"{DOTNET_HOME}/AdditionalDeps", True),
        ("OTEL_DOTNET_AUTO_HOME", DOTNET_HOME, False),
        ("DOTNET_SHARED_STORE", f"{DOTNET_HOME}/store", True),
    ]
    for name, value, concat in settings:
        idx = env_index(env, name)
        if idx == -1:
            env.append({"name": name, "value": value})
        elif concat:
            env[idx]["value"] = f"{env[idx].get('value', '')}:{value}"
    _mount_and_init(pod, container, spec, "dotnet", ["cp", "-r", "/autoinstrumentation/.", DOTNET_HOME])


def inject_go(spec: LanguageSpec, pod: dict[str, Any], container_names: list[str],
              annotations: dict[str, str]) -> None:
    """Go is instrumented from outside the process: a privileged eBPF sidecar sharing the pod's
    process namespace, so it appends a container instead of changing one."""
    if pod["spec"].get("shareProcessNamespace") is False:
        raise Skip("shared process namespace has been explicitly disabled")
    if len(container_names) > 1:
        raise Skip("go instrumentation cannot be injected into a pod, multiple containers configured")
    agent: dict[str, Any] = {
        "name": SIDECAR_NAME,
        "image": spec.image,
        "resources": copy.deepcopy(spec.resources),
        "securityContext": {"runAsUser": 0, "privileged": True},
        "volumeMounts": [{"mountPath": "/sys/kernel/debug", "name": "kernel-debug"}],
    }
    exe = annotations.get(ANNOTATION_GO_EXEC_PATH)
    if exe is not None:  # present, even empty, it wins over spec.go.env (the operator's rule)
        agent["env"] = [{"name": "OTEL_GO_AUTO_TARGET_EXE", "value": exe}]
    _append_spec_env(agent, spec.env)
    pod["spec"]["shareProcessNamespace"] = True
    pod["spec"]["containers"].append(agent)
    pod["spec"].setdefault("volumes", []).append(
        {"name": "kernel-debug", "hostPath": {"path": "/sys/kernel/debug"}})


INJECTORS = {"java": inject_java, "nodejs": inject_nodejs, "python": inject_python,
             "dotnet": inject_dotnet}
