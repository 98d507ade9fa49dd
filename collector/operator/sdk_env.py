"""The SDK environment common to every language (the operator's pkg/instrumentation/sdk.go and
exporter.go): OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_RESOURCE_ATTRIBUTES with the
pod's Kubernetes identity, OTEL_PROPAGATORS and the sampler.

Values the user already set in the container always win: we only add what is missing, and
extend OTEL_RESOURCE_ATTRIBUTES with keys the user did not give.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from collector.operator.instrumentation import Instrumentation
from collector.operator.languages import env_index

ENV_POD_NAME = "OTEL_RESOURCE_ATTRIBUTES_POD_NAME"
ENV_POD_UID = "OTEL_RESOURCE_ATTRIBUTES_POD_UID"
ENV_NODE_NAME = "OTEL_RESOURCE_ATTRIBUTES_NODE_NAME"
ENV_POD_IP = "OTEL_POD_IP"
ENV_NODE_IP = "OTEL_NODE_IP"
RESOURCE_ANNOTATION_PREFIX = "resource.opentelemetry.io/"
# The operator maps only app.kubernetes.io/name to service.name (pkg/constants LabelAppName);
# app.kubernetes.io/instance is a release name, shared by every workload of a Helm release.
LABEL_APP_NAME = ("app.kubernetes.io/name",)
LABEL_APP_VERSION = ("app.kubernetes.io/version",)
LABEL_APP_PART_OF = ("app.kubernetes.io/part-of",)

# The CronJob controller names its Jobs <cronjob>-<scheduled time in Unix minutes> (8 digits
# since 1973); requiring 8+ keeps a hand-made Job such as "migrate-2" from passing for one.
_CRONJOB_JOB = re.compile(r"^(.+)-[0-9]{8,}$")

# Service name precedence after annotations/labels: the closest named workload.
_WORKLOAD_KEYS = ("k8s.deployment.name", "k8s.replicaset.name", "k8s.statefulset.name",
                  "k8s.daemonset.name", "k8s.cronjob.name", "k8s.job.name", "k8s.pod.name")


def _field_env(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def inject_common_env(inst: Instrumentation, pod: dict[str, Any], index: int) -> None:
    """OTEL_NODE_IP / OTEL_POD_IP first (other values may reference them), then spec.env."""
    env = pod["spec"]["containers"][index].setdefault("env", [])
    if env_index(env, ENV_POD_IP) == -1:
        env.insert(0, _field_env(ENV_POD_IP, "status.podIP"))
    if env_index(env, ENV_NODE_IP) == -1:
        env.insert(0, _field_env(ENV_NODE_IP, "status.hostIP"))
    for item in inst.env:
        if env_index(env, item["name"]) == -1:
            env.append(dict(item))


def http_endpoint(endpoint: str) -> str:
    """The OTLP/HTTP twin of a gRPC endpoint: same scheme and host, port 4318 for 4317."""
    parsed = urlsplit(endpoint)
    if parsed.port != 4317:
        return ""
    return urlunsplit(parsed._replace(netloc=parsed.netloc.rsplit(":", 1)[0] + ":4318"))


def _label_or_annotation(pod: dict[str, Any], use_labels: bool, attribute: str,
                         labels: tuple[str, ...]) -> str:
    meta = pod.get("metadata") or {}
    value = (meta.get("annotations") or {}).get(RESOURCE_ANNOTATION_PREFIX + attribute, "")
    if value:
        return value
    if use_labels:
        for key in labels:
            if (meta.get("labels") or {}).get(key):
                return meta["labels"][key]
    return ""


def _workload_attributes(pod: dict[str, Any], with_uid: bool) -> dict[str, str]:
    """Owner names from ownerReferences. The operator asks the API for the ReplicaSet's and the
    Job's owner; we derive the Deployment from the ReplicaSet name and the pod-template-hash
    label, and the CronJob from the Job name, as the k8sattributes processor does, so no API
    round trip sits on the admission path (their UIDs stay unknown)."""
    meta = pod.get("metadata") or {}
    out: dict[str, str] = {}
    for owner in meta.get("ownerReferences") or []:
        kind, name, uid = str(owner.get("kind", "")).lower(), owner.get("name", ""), owner.get("uid", "")
        if kind not in ("replicaset", "deployment", "statefulset", "daemonset", "job", "cronjob") or not name:
            continue
        out[f"k8s.{kind}.name"] = name
        if with_uid and uid:
            out[f"k8s.{kind}.uid"] = uid
        if kind == "replicaset":
            template_hash = (meta.get("labels") or {}).get("pod-template-hash", "")
            if template_hash and name.endswith("-" + template_hash):
                out["k8s.deployment.name"] = name[: -len(template_hash) - 1]
        elif kind == "job":
            match = _CRONJOB_JOB.match(name)
            if match:
                out["k8s.cronjob.name"] = match.group(1)
    return out


def _existing_resource_keys(container: dict[str, Any]) -> set[str]:
    env = container.get("env") or []
    idx = env_index(env, "OTEL_RESOURCE_ATTRIBUTES")
    if idx == -1:
        return set()
    keys = set()
    for kv in str(env[idx].get("value", "")).split(","):
        parts = kv.strip().split("=")
        if len(parts) == 2:
            keys.add(parts[0])
    return keys


def resource_map(inst: Instrumentation, namespace: str, pod: dict[str, Any], index: int) -> dict[str, str]:
    """Attributes by precedence: the user's env > pod annotations > Kubernetes > the resource's."""
    container = pod["spec"]["containers"][index]
    existing = _existing_resource_keys(container)
    meta = pod.get("metadata") or {}
    res = {k: v for k, v in inst.resource_attributes.items() if k not in existing}
    instance_id = _label_or_annotation(pod, False, "service.instance.id", ())
    if not instance_id and namespace and container.get("name"):
        instance_id = f"{namespace}.$({ENV_POD_NAME}).{container['name']}"
    k8s = {
        "k8s.namespace.name": namespace,
        "k8s.container.name": container.get("name", ""),
        "k8s.pod.name": meta.get("name", ""),
        "k8s.pod.uid": meta.get("uid", ""),
        "k8s.node.name": pod["spec"].get("nodeName", ""),
        "service.instance.id": instance_id,
    }
    k8s.update(_workload_attributes(pod, inst.add_k8s_uid_attributes))
    for k, v in k8s.items():
        if k not in existing and v:
            res[k] = v
    for k, v in (meta.get("annotations") or {}).items():
        if k.startswith(RESOURCE_ANNOTATION_PREFIX):
            key = k[len(RESOURCE_ANNOTATION_PREFIX):]
            if key not in existing and key != "service.name":
                res[key] = v
    part_of = _label_or_annotation(pod, inst.use_labels_for_resource_attributes, "service.namespace",
                                   LABEL_APP_PART_OF)
    if part_of and "service.namespace" not in existing:
        res["service.namespace"] = part_of
    return res


def _service_name(pod: dict[str, Any], inst: Instrumentation, res: dict[str, str], index: int) -> str:
    name = _label_or_annotation(pod, inst.use_labels_for_resource_attributes, "service.name", LABEL_APP_NAME)
    if name:
        return name
    for key in _WORKLOAD_KEYS:
        if res.get(key):
            return res[key]
    return pod["spec"]["containers"][index].get("name", "")


def _service_version(pod: dict[str, Any], inst: Instrumentation, index: int) -> str:
    version = _label_or_annotation(pod, inst.use_labels_for_resource_attributes, "service.version",
                                   LABEL_APP_VERSION)
    if version:
        return version
    tag = str(pod["spec"]["containers"][index].get("image", "")).split(":")[-1]
    # "registry:5000/app" has no tag: what follows the last ':' is a port and a path.
    return "" if "/" in tag else tag


def _configure_exporter(inst: Instrumentation, pod: dict[str, Any], container: dict[str, Any],
                        http: bool) -> None:
    env = container.setdefault("env", [])
    endpoint = inst.exporter_endpoint
    if http:
        # Python and .NET agents export OTLP/HTTP. The operator hands them the resource's endpoint
        # as is, which breaks when that is the gateway's gRPC :4317 and neither the language block
        # nor spec.env sets one; we point them at :4318 instead (the product guide's promise).
        # Same place and precedence as the operator's value: after the user's, language and
        # common env, which all win.
        endpoint = http_endpoint(endpoint) or endpoint
    if endpoint and env_index(env, "OTEL_EXPORTER_OTLP_ENDPOINT") == -1:
        env.append({"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": endpoint})
    tls = inst.exporter_tls
    if not tls:
        return
    secret, config_map = tls.get("secretName", ""), tls.get("configMapName", "")
    secret_volume = f"otel-auto-secret-{secret}"[:63]
    secret_path = f"/otel-auto-instrumentation-secret-{secret}"
    cm_volume = f"otel-auto-configmap-{config_map}"[:63]
    cm_path = f"/otel-auto-instrumentation-configmap-{config_map}"

    def path_of(value: str, base: str) -> str:
        return value if value.startswith("/") else f"{base}/{value}"

    files = [("ca_file", "OTEL_EXPORTER_OTLP_CERTIFICATE", cm_path if config_map else secret_path),
             ("cert_file", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", secret_path),
             ("key_file", "OTEL_EXPORTER_OTLP_CLIENT_KEY", secret_path)]
    for key, name, base in files:
        if tls.get(key) and env_index(env, name) == -1:
            env.append({"name": name, "value": path_of(tls[key], base)})
    volumes = pod["spec"].setdefault("volumes", [])
    mounts = container.setdefault("volumeMounts", [])
    for source, volume, path, body in (
            (secret, secret_volume, secret_path, {"secret": {"secretName": secret}}),
            (config_map, cm_volume, cm_path, {"configMap": {"name": config_map}})):
        if not source:
            continue
        if all(v.get("name") != volume for v in volumes):
            volumes.append({"name": volume, **body})
        if all(m.get("name") != volume for m in mounts):
            mounts.append({"name": volume, "mountPath": path, "readOnly": True})


def inject_sdk_config(inst: Instrumentation, namespace: str, pod: dict[str, Any],
                      agent_index: int, app_index: int, http: bool = False) -> None:
    """agent_index: the container that runs the SDK (the Go sidecar for Go); app_index: the
    container whose telemetry it is (they are the same for every other language). http: the
    agent exports OTLP/HTTP (Python, .NET)."""
    container = pod["spec"]["containers"][agent_index]
    env = container.setdefault("env", [])
    res = resource_map(inst, namespace, pod, app_index)
    if env_index(env, "OTEL_SERVICE_NAME") == -1:
        env.append({"name": "OTEL_SERVICE_NAME", "value": _service_name(pod, inst, res, app_index)})
    _configure_exporter(inst, pod, container, http)

    # The pod name is unknown at admission for pods of a template: the downward API fills it.
    env.append(_field_env(ENV_POD_NAME, "metadata.name"))
    res["k8s.pod.name"] = f"$({ENV_POD_NAME})"
    if inst.add_k8s_uid_attributes and not res.get("k8s.pod.uid"):
        env.append(_field_env(ENV_POD_UID, "metadata.uid"))
        res["k8s.pod.uid"] = f"$({ENV_POD_UID})"
    idx = env_index(env, "OTEL_RESOURCE_ATTRIBUTES")
    if idx == -1 or "service.version" not in str(env[idx].get("value", "")):
        version = _service_version(pod, inst, app_index)
        if version:
            res["service.version"] = version
    if not res.get("k8s.node.name"):
        env.append(_field_env(ENV_NODE_NAME, "spec.nodeName"))
        res["k8s.node.name"] = f"$({ENV_NODE_NAME})"

    encoded = ",".join(f"{k}={res[k]}" for k in sorted(res))
    idx = env_index(env, "OTEL_RESOURCE_ATTRIBUTES")
    if idx == -1:
        env.append({"name": "OTEL_RESOURCE_ATTRIBUTES", "value": encoded})
    else:
        value = str(env[idx].get("value", ""))
        env[idx]["value"] = value + (encoded if value.endswith(",") else "," + encoded)

    if env_index(env, "OTEL_PROPAGATORS") == -1 and inst.propagators:
        env.append({"name": "OTEL_PROPAGATORS", "value": ",".join(inst.propagators)})
    if (env_index(env, "OTEL_TRACES_SAMPLER") == -1 and inst.sampler_type
            and env_index(env, "OTEL_TRACES_SAMPLER_ARG") == -1):
        env.append({"name": "OTEL_TRACES_SAMPLER", "value": inst.sampler_type})
        if inst.sampler_argument:
            env.append({"name": "OTEL_TRACES_SAMPLER_ARG", "value": inst.sampler_argument})

    # $(VAR) references resolve only to variables defined earlier in the list, so the
    # attributes that reference the downward-API variables must come last.
    idx = env_index(env, "OTEL_RESOURCE_ATTRIBUTES")
    env.append(env.pop(idx))
